"""Intensity preparation driven by a model's :class:`~ai.package.InputSpec`: window, normalise,
channels. Pipelines call :func:`prepare_intensities` on voxels before resizing them to the model.
"""

from __future__ import annotations

import numpy as np

from ai.package import InputSpec
from ai.resample import normalise01

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def to_unit_range(array: np.ndarray, low_pct: float = 0.5, high_pct: float = 99.5) -> np.ndarray:
    """float32 in [0, 1]: uint8 is divided by 255; anything else is stretched between percentiles."""
    if array.dtype == np.uint8:
        return array.astype(np.float32) / 255.0
    a = array.astype(np.float32)
    lo, hi = np.percentile(a, [low_pct, high_pct])
    return np.clip((a - lo) / max(float(hi - lo), 1e-6), 0.0, 1.0)


def apply_window(array: np.ndarray, center: float, width: float) -> np.ndarray:
    """Clip to [center - width/2, center + width/2] and scale to [0, 1]."""
    low = center - width / 2.0
    return np.clip((array.astype(np.float32) - low) / width, 0.0, 1.0)


def _per_channel(array: np.ndarray, mean: tuple[float, ...], std: tuple[float, ...]) -> np.ndarray:
    shape = (len(mean),) + (1,) * (array.ndim - 1)
    return (array - np.asarray(mean, np.float32).reshape(shape)) / np.asarray(std, np.float32).reshape(shape)


def to_channels(array: np.ndarray, channels: int) -> np.ndarray:
    """(*spatial) → (channels, *spatial), repeating a grey image into each channel."""
    return np.repeat(array[None].astype(np.float32), channels, axis=0)


def prepare_intensities(array: np.ndarray, spec: InputSpec, invert: bool = False) -> np.ndarray:
    """(*spatial) voxels → (channels, *spatial) float32 as ``spec`` asks.

    The window (when given) maps to [0, 1]; then ``normalization``: 'unit_range' divides uint8 by 255
    and stretches other dtypes between ``spec.percentiles`` (so it must see the stored dtype),
    'minmax' scales to [0, 1] (a no-op after a window), 'zscore' per image, 'imagenet' / 'mean_std'
    per channel on the [0, 1] image, 'none' leaves values as they are. ``invert`` flips a
    MONOCHROME1 image so bright means dense.
    """
    x = array.astype(np.float32)
    if spec.normalization == "unit_range" and spec.window is None:
        x = to_unit_range(array, *spec.percentiles)
    elif spec.window is not None:
        x = apply_window(x, spec.window.center, spec.window.width)
    elif spec.normalization in ("minmax", "imagenet", "mean_std"):
        x = normalise01(x)
    if invert:
        x = (1.0 - x) if spec.window is not None or spec.normalization != "none" else x.max() - x
    if spec.normalization == "zscore":
        x = (x - x.mean()) / max(float(x.std()), 1e-6)
    x = to_channels(x, spec.channels)
    if spec.normalization == "imagenet":
        x = _per_channel(x, IMAGENET_MEAN[: spec.channels], IMAGENET_STD[: spec.channels])
    elif spec.normalization == "mean_std":
        x = _per_channel(x, spec.mean, spec.std)
    return x.astype(np.float32)
