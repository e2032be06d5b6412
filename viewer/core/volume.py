"""The `Volume`: voxels plus the affine that places them in patient space.

Conventions (the ones every other module relies on):

* ``voxels`` is indexed ``[k, j, i]`` = ``[slice, row, column]`` (C order, numpy-friendly).
* ``spacing`` is ``(dk, dj, di)`` in mm, i.e. (between slices, between rows, between columns),
  matching the array axes. For DICOM this is (slice spacing, PixelSpacing[0], PixelSpacing[1]).
* ``direction`` is a 3x3 matrix whose *columns* are the unit vectors, in the DICOM patient
  coordinate system (LPS: +x to the patient's Left, +y Posterior, +z Superior), of the index
  axes **i (column), j (row), k (slice)**, in that order. Columns 0 and 1 are the two halves of
  ImageOrientationPatient (0020,0037); column 2 is the slice normal, oriented the way the
  slices were sorted (increasing k).
* ``origin`` is the LPS position in mm of the centre of voxel ``[0, 0, 0]``
  (ImagePositionPatient (0020,0032) of the first slice after sorting).

So patient = origin + direction @ (i*di, j*dj, k*dk); see :meth:`Volume.affine`.

A volume without geometry (a PNG, a JPEG, a secondary capture without position tags) has
``has_geometry=False``: its spacing is then (1, 1, 1) *pixels*, never mm.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from viewer.core.windowing import Window


@dataclass(frozen=True)
class Volume:
    """A 3D (or single-slice) image on a known grid in patient space."""

    voxels: np.ndarray
    spacing: tuple[float, float, float]
    origin: tuple[float, float, float] = (0.0, 0.0, 0.0)
    direction: np.ndarray = field(default_factory=lambda: np.eye(3))
    modality: str = "OT"
    has_geometry: bool = True
    default_window: Window | None = None
    sop_instance_uids: tuple[str, ...] = ()
    series_instance_uid: str = ""
    study_instance_uid: str = ""
    series_description: str = ""
    photometric_interpretation: str = "MONOCHROME2"
    resampled: bool = False
    warnings: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.voxels.ndim != 3:
            raise ValueError(f"voxels must be 3D [k, j, i], got shape {self.voxels.shape}")
        direction = np.asarray(self.direction, dtype=float)
        if direction.shape != (3, 3):
            raise ValueError("direction must be 3x3")
        object.__setattr__(self, "direction", direction)
        object.__setattr__(self, "spacing", tuple(float(s) for s in self.spacing))
        object.__setattr__(self, "origin", tuple(float(o) for o in self.origin))

    # --- shape and units -------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, int, int]:
        """(slices, rows, columns)."""
        return tuple(self.voxels.shape)  # type: ignore[return-value]

    @property
    def is_2d(self) -> bool:
        """True for a single frame (radiograph, photo, one slice)."""
        return self.voxels.shape[0] == 1

    @property
    def unit(self) -> str:
        """Length unit of ``spacing``: 'mm' with geometry, 'px' without."""
        return "mm" if self.has_geometry else "px"

    @property
    def display_inverted(self) -> bool:
        """MONOCHROME1 (PS3.3 C.7.6.3.1.2): the minimum value is shown white."""
        return self.photometric_interpretation == "MONOCHROME1"

    @property
    def value_range(self) -> tuple[float, float]:
        return float(self.voxels.min()), float(self.voxels.max())

    # --- geometry ------------------------------------------------------------------------
    @property
    def affine(self) -> np.ndarray:
        """4x4 matrix mapping (i, j, k, 1) voxel indices to (x, y, z, 1) LPS mm."""
        dk, dj, di = self.spacing
        m = np.eye(4)
        m[:3, :3] = self.direction @ np.diag([di, dj, dk])
        m[:3, 3] = self.origin
        return m

    def index_to_patient(self, kji: np.ndarray | tuple[float, float, float]) -> np.ndarray:
        """Voxel index ``[k, j, i]`` (may be fractional, may be an (N, 3) array) → LPS mm."""
        kji = np.asarray(kji, dtype=float)
        ijk1 = np.concatenate([kji[..., ::-1], np.ones(kji.shape[:-1] + (1,))], axis=-1)
        return (ijk1 @ self.affine.T)[..., :3]

    def patient_to_index(self, xyz: np.ndarray | tuple[float, float, float]) -> np.ndarray:
        """LPS mm → fractional voxel index ``[k, j, i]``."""
        xyz = np.asarray(xyz, dtype=float)
        xyz1 = np.concatenate([xyz, np.ones(xyz.shape[:-1] + (1,))], axis=-1)
        ijk = (xyz1 @ np.linalg.inv(self.affine).T)[..., :3]
        return ijk[..., ::-1]

    def slice_position(self, k: int) -> np.ndarray:
        """LPS position (mm) of the centre of voxel [k, 0, 0]."""
        return self.index_to_patient((k, 0, 0))

    def with_voxels(self, voxels: np.ndarray, **changes: object) -> Volume:
        """A copy sharing this volume's geometry with other voxels (same shape unless told)."""
        return replace(self, voxels=voxels, **changes)  # type: ignore[arg-type]

    @property
    def nbytes(self) -> int:
        return int(self.voxels.nbytes)
