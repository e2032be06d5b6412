"""Window/level: the `Window` record, CT presets, and mapping values to display grey levels.

DICOM VOI LUT semantics follow PS3.3 C.11.2.1.2 (WindowCenter/WindowWidth, linear function).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Window:
    """A display window: ``center`` and ``width`` in the image's rescaled units (HU for CT)."""

    center: float
    width: float
    name: str = ""

    def __post_init__(self) -> None:
        if self.width <= 0:
            raise ValueError(f"window width must be > 0, got {self.width}")

    @property
    def lower(self) -> float:
        return self.center - self.width / 2

    @property
    def upper(self) -> float:
        return self.center + self.width / 2

    def moved(self, d_center: float, d_width: float) -> Window:
        """The window after a W/L drag: width never below 1."""
        return Window(self.center + d_center, max(1.0, self.width + d_width), self.name)


#: Conventional CT presets (HU). Keys are what the number keys and ``--preset`` accept.
CT_PRESETS: dict[str, Window] = {
    "lung": Window(-600, 1500, "lung"),
    "mediastinum": Window(40, 400, "mediastinum"),
    "bone": Window(400, 1800, "bone"),
    "brain": Window(40, 80, "brain"),
    "abdomen": Window(60, 400, "abdomen"),
}


def auto_window(voxels: np.ndarray, low_pct: float = 0.5, high_pct: float = 99.5) -> Window:
    """A window spanning the central percentiles of the values (for MR, X-ray, photos).

    Sub-samples large arrays so that it stays cheap on a full CT volume.
    """
    flat = voxels.ravel()
    if flat.size > 2_000_000:
        flat = flat[:: flat.size // 1_000_000]
    lo, hi = np.percentile(flat, [low_pct, high_pct])
    if hi <= lo:
        hi = lo + 1
    return Window(float((lo + hi) / 2), float(hi - lo), "auto")


def apply_window(values: np.ndarray, window: Window, invert: bool = False) -> np.ndarray:
    """Map values to uint8 grey levels with the DICOM linear VOI function (0 = black)."""
    lo, hi = window.lower, window.upper
    scaled = (values.astype(np.float32) - lo) * (255.0 / (hi - lo))
    out = np.clip(scaled, 0, 255).astype(np.uint8)
    return 255 - out if invert else out
