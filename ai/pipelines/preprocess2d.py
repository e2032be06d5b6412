"""2D preprocessing shared by the radiograph and MRI-slice pipelines (numpy + Pillow only)."""

from __future__ import annotations

import numpy as np
from PIL import Image


def to_unit_range(array: np.ndarray, low_pct: float = 0.5, high_pct: float = 99.5) -> np.ndarray:
    """float32 in [0, 1]: uint8 is divided by 255; anything else is stretched between percentiles."""
    if array.dtype == np.uint8:
        return array.astype(np.float32) / 255.0
    a = array.astype(np.float32)
    lo, hi = np.percentile(a, [low_pct, high_pct])
    return np.clip((a - lo) / max(float(hi - lo), 1e-6), 0.0, 1.0)


def letterbox_square(array: np.ndarray, size: int) -> tuple[np.ndarray, float, int, int]:
    """Resize the longer side to ``size`` (antialiased bilinear) and zero-pad to a centred square.

    Returns ``(image, scale, pad_x, pad_y)``; a point ``(x, y)`` of the input maps to
    ``(x * scale + pad_x, y * scale + pad_y)`` in the output. uint8 in → uint8 out, else float32.
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


def resize_map(cam: np.ndarray, size: int) -> np.ndarray:
    """Bilinear resize of a (h, w) map to (size, size), float32."""
    img = Image.fromarray(cam.astype(np.float32))
    return np.asarray(img.resize((size, size), Image.Resampling.BILINEAR), dtype=np.float32)


def unletterbox_map(
    cam: np.ndarray, size: int, scale: float, pad_x: int, pad_y: int, shape: tuple
) -> np.ndarray:
    """A map on the model grid (any resolution) → the input image's grid (H, W)."""
    full = resize_map(cam, size)
    h, w = shape[:2]
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    inner = full[pad_y : pad_y + nh, pad_x : pad_x + nw]
    img = Image.fromarray(inner)
    return np.asarray(img.resize((w, h), Image.Resampling.BILINEAR), dtype=np.float32)


def run_all_outputs(session: object, x: np.ndarray) -> dict[str, np.ndarray]:
    """Every output of an onnxruntime ``InferenceSession`` for the ``image`` input, by name."""
    names = [o.name for o in session.get_outputs()]  # type: ignore[attr-defined]
    return dict(zip(names, session.run(names, {"image": x}), strict=True))  # type: ignore[attr-defined]
