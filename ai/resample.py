"""Linear resizing of arrays on a grid, in numpy (no scipy, no torch).

:func:`resize_linear` matches ``torch.nn.functional.interpolate(mode="linear"/"bilinear"/
"trilinear", align_corners=False)`` without antialiasing: a sample at output index ``o`` reads the
input at ``(o + 0.5) * in / out - 0.5`` (clamped at the edges). It is separable, one axis at a time.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _axis_weights(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lower index, upper index and upper weight for each output sample along one axis."""
    scale = n_in / n_out
    src = np.maximum((np.arange(n_out) + 0.5) * scale - 0.5, 0.0)
    lower = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    upper = np.minimum(lower + 1, n_in - 1)
    return lower, upper, (src - lower).astype(np.float64)


def _resize_axis(array: np.ndarray, axis: int, n_out: int) -> np.ndarray:
    n_in = array.shape[axis]
    if n_in == n_out:
        return array
    lower, upper, weight = _axis_weights(n_in, n_out)
    shape = [1] * array.ndim
    shape[axis] = n_out
    weight = weight.reshape(shape)
    a = np.take(array, lower, axis=axis)
    b = np.take(array, upper, axis=axis)
    return a * (1.0 - weight) + b * weight


def resize_linear(array: np.ndarray, shape: Sequence[int], axes: Sequence[int] | None = None) -> np.ndarray:
    """Resize the trailing ``len(shape)`` axes of ``array`` (or ``axes``) to ``shape``, linearly.

    The result is float64 for integer input, otherwise keeps the input's float dtype.
    """
    shape = tuple(int(s) for s in shape)
    if axes is None:
        axes = tuple(range(array.ndim - len(shape), array.ndim))
    if len(axes) != len(shape):
        raise ValueError(f"{len(shape)} target sizes for {len(axes)} axes")
    dtype = array.dtype if np.issubdtype(array.dtype, np.floating) else np.float64
    out = array.astype(np.float64, copy=False)
    for axis, n_out in zip(axes, shape, strict=True):
        if n_out < 1:
            raise ValueError(f"target size must be >= 1, got {shape}")
        out = _resize_axis(out, axis, n_out)
    return out.astype(dtype, copy=False)


def normalise01(array: np.ndarray) -> np.ndarray:
    """Scale to [0, 1] by min and max (all zeros when the array is constant)."""
    array = np.asarray(array, dtype=np.float32)
    lo, hi = float(array.min()), float(array.max())
    if hi - lo <= 0:
        return np.zeros_like(array)
    return (array - lo) / (hi - lo)
