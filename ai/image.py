"""`ImageInput`: what the AI engine receives - voxels on a grid, with the facts scope gating needs.

It mirrors the viewer's ``Volume`` conventions without importing it: ``voxels`` indexed ``[k, j, i]``
(slice, row, column; a 2D image has one slice), ``spacing`` ``(dk, dj, di)`` mm (pixels when
``has_geometry`` is False), ``direction`` columns = LPS unit vectors of i, j, k, ``origin`` = LPS
centre of voxel [0, 0, 0].
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ai.registry import ImageFacts


@dataclass(frozen=True)
class ImageInput:
    """Voxels ``[k, j, i]`` plus geometry, modality and (when known) body part."""

    voxels: np.ndarray
    spacing: tuple[float, float, float] = (1.0, 1.0, 1.0)
    origin: tuple[float, float, float] = (0.0, 0.0, 0.0)
    direction: np.ndarray = field(default_factory=lambda: np.eye(3))
    modality: str = "OT"
    has_geometry: bool = True
    body_part: str | None = None
    photometric_interpretation: str = "MONOCHROME2"

    def __post_init__(self) -> None:
        if self.voxels.ndim != 3:
            raise ValueError(f"voxels must be [k, j, i], got shape {self.voxels.shape}")
        object.__setattr__(self, "direction", np.asarray(self.direction, dtype=float).reshape(3, 3))

    @property
    def is_2d(self) -> bool:
        return self.voxels.shape[0] == 1

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.voxels.shape)  # type: ignore[return-value]

    def facts(self) -> ImageFacts:
        """Modality, 2D/3D, spacing in mm (None without geometry), body part."""
        spacing = self.spacing if self.has_geometry else None
        return ImageFacts(self.modality, self.is_2d, spacing, self.body_part)

    def index_to_patient(self, kji: np.ndarray | tuple[float, float, float]) -> np.ndarray | None:
        """Voxel ``[k, j, i]`` (fractional allowed) → LPS mm; None without geometry."""
        if not self.has_geometry:
            return None
        kji = np.asarray(kji, dtype=float)
        dk, dj, di = self.spacing
        scaled = kji[..., ::-1] * np.array([di, dj, dk])
        return scaled @ self.direction.T + np.asarray(self.origin)
