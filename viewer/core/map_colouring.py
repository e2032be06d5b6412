"""Colouring of explanation maps (no Qt): the heat colour scale, a map as RGBA with its alpha
ramp, and the colour bar. The viewer's painter (`viewer.ui.heatmap_overlay`) and the PNG files of
``radsight analyze`` (`viewer.analysis.overlay`) use the same scale. Not for diagnostic use.
"""

from __future__ import annotations

import numpy as np


def heat_colours(heat: np.ndarray) -> np.ndarray:
    """[0, 1] → RGB 0..255 on a blue-green-yellow-red scale (H, W, 3)."""
    h = 4.0 * np.clip(heat, 0, 1)[..., None]
    peaks = np.array([3.0, 2.0, 1.0])  # where red, green and blue are strongest
    return np.clip(1.5 - np.abs(h - peaks), 0, 1) * 255.0


def heat_rgba(heat: np.ndarray, opacity: float, floor: float = 0.0) -> np.ndarray:
    """(H, W) map in [0, 1] → (H, W, 4) uint8 RGBA: blue→green→yellow→red, alpha = opacity × heat
    rescaled from ``floor`` (values ≤ floor and opacity 0 draw nothing; cold regions stay clear)."""
    h = np.clip(np.nan_to_num(np.asarray(heat, dtype=np.float32)), 0.0, 1.0)
    rgba = np.empty(h.shape + (4,), np.uint8)
    rgba[..., :3] = heat_colours(h)
    ramp = np.clip((h - floor) / max(1.0 - floor, 1e-6), 0.0, 1.0)
    rgba[..., 3] = np.round(255.0 * float(np.clip(opacity, 0.0, 1.0)) * ramp)
    return rgba


def colour_bar_rgba(height: int, width: int) -> np.ndarray:
    """(height, width, 4) opaque colour bar, 1.0 at the top and 0.0 at the bottom."""
    values = np.linspace(1.0, 0.0, height, dtype=np.float32)[:, None].repeat(width, axis=1)
    rgba = heat_rgba(values, 1.0)
    rgba[..., 3] = 255
    return rgba
