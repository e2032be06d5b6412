"""Where the slices of a stack lie: order along the normal, spacing, gaps and gantry tilt.

Slices are sorted by their ImagePositionPatient (0020,0032) projected on the slice normal
(row direction × column direction of ImageOrientationPatient (0020,0037)) — never by file name
or InstanceNumber. The analysis says, in plain words, what would make a simple
``origin + k * spacing * normal`` grid wrong: non-uniform spacing, missing slices (gaps), and a
gantry tilt (slice origins stepping off the normal, so the true grid is sheared).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from viewer.core.dicom_frames import Frame

#: Two spacings that differ by less than this (mm, or fraction of the spacing) count as equal.
SPACING_TOLERANCE_MM = 0.01
SPACING_TOLERANCE_FRACTION = 0.01
#: A step off the normal by more than this (degrees) is a gantry tilt.
TILT_TOLERANCE_DEG = 0.5


@dataclass(frozen=True)
class SliceGap:
    """A step between two neighbouring slices that looks like missing slices."""

    after_position_mm: float  # along the normal
    before_position_mm: float
    missing_slices: int

    def describe(self) -> str:
        return (f"gap in slice positions between {self.after_position_mm:.2f} and "
                f"{self.before_position_mm:.2f} mm (about {self.missing_slices} slice(s) missing)")


@dataclass(frozen=True)
class StackGeometry:
    """The geometry of a positioned stack of frames, in sorted order."""

    order: tuple[int, ...]  # indices into the frames given, sorted along the normal
    row_direction: np.ndarray  # LPS unit vector of increasing column index i
    column_direction: np.ndarray  # LPS unit vector of increasing row index j
    normal: np.ndarray
    positions: np.ndarray  # (N, 3) ImagePositionPatient in sorted order
    along_normal_mm: np.ndarray  # (N,) projections on the normal, increasing
    pixel_spacing: tuple[float, float]  # (row spacing dj, column spacing di)
    nominal_spacing_mm: float
    uniform: bool
    tilt_deg: float
    gaps: tuple[SliceGap, ...] = field(default_factory=tuple)

    @property
    def is_regular(self) -> bool:
        """True when origin + k·spacing·normal places every slice exactly."""
        return self.uniform and not self.gaps and self.tilt_deg <= TILT_TOLERANCE_DEG

    @property
    def steps_mm(self) -> np.ndarray:
        return np.diff(self.along_normal_mm)

    def warnings(self) -> list[str]:
        found = []
        steps = self.steps_mm
        if len(steps) and not self.uniform:
            found.append(f"non-uniform slice spacing ({steps.min():.2f}–{steps.max():.2f} mm)")
        found.extend(gap.describe() for gap in self.gaps)
        if self.tilt_deg > TILT_TOLERANCE_DEG:
            found.append(f"gantry tilt of {self.tilt_deg:.1f}° (slices step off their normal)")
        return found


def analyse_stack(frames: list[Frame]) -> StackGeometry:
    """Sort a positioned stack and describe its spacing, gaps and tilt.

    Every frame must carry position and orientation (callers check `SeriesRecord`); without
    PixelSpacing the in-plane spacing is taken as 1 (pixels) and the caller says so.
    """
    orientation = np.asarray(frames[0].orientation, dtype=float)
    row_dir = _unit(orientation[:3])
    col_dir = _unit(orientation[3:])
    normal = _unit(np.cross(row_dir, col_dir))
    positions = np.asarray([f.position for f in frames], dtype=float)
    along = positions @ normal
    order = np.argsort(along, kind="stable")
    positions, along = positions[order], along[order]
    steps = np.diff(along)
    nominal = float(np.median(steps)) if len(steps) else float(_thickness(frames[0]))
    return StackGeometry(
        order=tuple(int(i) for i in order),
        row_direction=row_dir,
        column_direction=col_dir,
        normal=normal,
        positions=positions,
        along_normal_mm=along,
        pixel_spacing=tuple(frames[0].pixel_spacing or (1.0, 1.0)),  # type: ignore[arg-type]
        nominal_spacing_mm=nominal,
        uniform=_is_uniform(steps),
        tilt_deg=_tilt_deg(positions, normal),
        gaps=_find_gaps(along, steps, nominal),
    )


def _unit(v: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(v)
    if norm == 0:
        raise ValueError("ImageOrientationPatient holds a zero vector")
    return v / norm


def _thickness(frame: Frame) -> float:
    return frame.spacing_between_slices or frame.slice_thickness or 1.0


def _is_uniform(steps: np.ndarray) -> bool:
    if len(steps) < 2:
        return True
    tolerance = max(SPACING_TOLERANCE_MM, SPACING_TOLERANCE_FRACTION * float(np.median(steps)))
    return float(steps.max() - steps.min()) <= tolerance


def _tilt_deg(positions: np.ndarray, normal: np.ndarray) -> float:
    """Angle between the slices' stepping direction and their normal."""
    if len(positions) < 2:
        return 0.0
    travel = positions[-1] - positions[0]
    length = np.linalg.norm(travel)
    if length == 0:
        return 0.0
    cosine = abs(float(travel @ normal)) / length
    return float(np.degrees(np.arccos(min(1.0, cosine))))


#: A step this many times the typical one is a hole (slices missing), whole multiple or not.
HOLE_STEP_RATIO = 3.0


def _find_gaps(along: np.ndarray, steps: np.ndarray, nominal: float) -> tuple[SliceGap, ...]:
    """Where slices are missing: steps close to a whole multiple (≥ 2) of the typical step, and
    any step of `HOLE_STEP_RATIO` typical steps or more (a hole is never filled by interpolation).
    """
    if len(steps) < 3 or nominal <= 0:
        return ()
    gaps = []
    for n, step in enumerate(steps):
        ratio = step / nominal
        multiple = round(ratio)
        if (multiple >= 2 and abs(ratio - multiple) < 0.1) or ratio >= HOLE_STEP_RATIO:
            gaps.append(SliceGap(float(along[n]), float(along[n + 1]), max(1, multiple - 1)))
    return tuple(gaps)
