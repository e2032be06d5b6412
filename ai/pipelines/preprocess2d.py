"""2D model input for the radiograph and MRI-slice pipelines, as ``model.json``'s ``input`` asks
(numpy + Pillow only): intensities (:func:`ai.preprocess.prepare_intensities`), then the letterbox
(or plain resize) to ``input.size``, and the way back from the model grid to the image."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from ai.image import ImageInput
from ai.package import InputSpec
from ai.preprocess import prepare_intensities
from ai.resample import resize_linear


@dataclass(frozen=True)
class Letterbox:
    """How an (H, W) image was placed on the ``size`` x ``size`` model grid.

    A point ``(x, y)`` of the image maps to ``(x * scale + pad_x, y * scale + pad_y)`` on the grid.
    """

    shape: tuple[int, int]
    size: int
    scale: float
    pad_x: int
    pad_y: int


def letterbox_square(array: np.ndarray, size: int) -> tuple[np.ndarray, float, int, int]:
    """Resize the longer side to ``size`` (antialiased bilinear) and zero-pad to a centred square.

    Returns ``(image, scale, pad_x, pad_y)``; uint8 in → uint8 out, else float32.
    """
    h, w = array.shape[:2]
    scale = size / max(h, w)
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    is_u8 = array.dtype == np.uint8
    img = Image.fromarray(array if is_u8 else array.astype(np.float32))
    resized = np.asarray(img.resize((nw, nh), Image.Resampling.BILINEAR))
    out = np.zeros((size, size), resized.dtype)
    pad_y, pad_x = (size - nh) // 2, (size - nw) // 2
    out[pad_y : pad_y + nh, pad_x : pad_x + nw] = resized
    return out, scale, pad_x, pad_y


def model_input_2d(image: ImageInput, spec: InputSpec) -> tuple[np.ndarray, Letterbox]:
    """The image's one slice → (1, C, size, size) float32 as ``spec`` asks, and where it was placed."""
    plane = image.voxels[0]
    invert = spec.invert_monochrome1 and image.photometric_interpretation == "MONOCHROME1"
    channels = prepare_intensities(plane, spec, invert=invert)
    h, w = plane.shape
    size = int(spec.size[0])  # type: ignore[index]
    if spec.resize == "letterbox":
        boxed = [letterbox_square(c, size) for c in channels]
        x = np.stack([b[0] for b in boxed])
        _, scale, pad_x, pad_y = boxed[0]
        return x[None].astype(np.float32), Letterbox((h, w), size, scale, pad_x, pad_y)
    x = resize_linear(channels, tuple(spec.size))  # type: ignore[arg-type]
    return x[None].astype(np.float32), Letterbox((h, w), size, size / max(h, w), 0, 0)


def resize_map(cam: np.ndarray, size: int) -> np.ndarray:
    """Bilinear resize of a (h, w) map to (size, size), float32."""
    img = Image.fromarray(cam.astype(np.float32))
    return np.asarray(img.resize((size, size), Image.Resampling.BILINEAR), dtype=np.float32)


def unletterbox_map(cam: np.ndarray, lb: Letterbox) -> np.ndarray:
    """A map on the model grid (any resolution) → the input image's grid (H, W)."""
    full = resize_map(cam, lb.size)
    h, w = lb.shape
    nh, nw = max(1, round(h * lb.scale)), max(1, round(w * lb.scale))
    inner = full[lb.pad_y : lb.pad_y + nh, lb.pad_x : lb.pad_x + nw]
    img = Image.fromarray(inner)
    return np.asarray(img.resize((w, h), Image.Resampling.BILINEAR), dtype=np.float32)


def grid_box_to_input(box: tuple[float, ...], cell: float, lb: Letterbox) -> tuple[float, ...]:
    """A box ``(x0, y0, x1, y1)`` in cells of ``cell`` model pixels → input pixels, clipped."""
    h, w = lb.shape
    pads = (lb.pad_x, lb.pad_y) * 2
    x0, y0, x1, y1 = ((v * cell - pad) / lb.scale for v, pad in zip(box, pads, strict=True))
    return (min(max(x0, 0.0), w), min(max(y0, 0.0), h), min(max(x1, 0.0), w), min(max(y1, 0.0), h))
