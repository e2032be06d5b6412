"""Patient orientation: direction letters, screen-edge labels and acquisition-plane names.

Everything here is derived from a volume's direction matrix (see :mod:`viewer.core.volume`):
columns = LPS unit vectors of the index axes i (column), j (row), k (slice). Flipped,
permuted, oblique and sheared (gantry-tilted) matrices are all handled; nothing assumes
identity.

Radiological display convention (what :func:`view_axes` produces and :mod:`viewer.core.reslice`
applies):

========  =================  =================  ==============
view      screen top         screen left        slices along
========  =================  =================  ==============
axial     patient anterior   patient right      S/I
coronal   patient superior   patient right      A/P
sagittal  patient superior   patient anterior   R/L
========  =================  =================  ==============

API
---
``direction_letters(vector, threshold=0.1, max_letters=3) -> str``
    DICOM PS3.3 C.7.6.1.1.1 style letters ("L", "AP"→ e.g. "AS" for an oblique vector, dominant
    letter first, "" for a zero vector).
``view_axes(direction, view) -> ViewAxes``
    Which array axis ([k, j, i] → 0, 1, 2) is the slice axis, which go to screen rows and
    columns, and whether each is flipped, for ``view`` in ``"axial" | "coronal" | "sagittal"``.
``screen_labels(volume_or_direction, view) -> ScreenLabels``
    Letters for the top / bottom / left / right edges of that view (``.top`` etc.).
``acquisition_plane(volume_or_direction, oblique_deg=1.0) -> PlaneInfo``
    Nearest standard plane, tilt of the slice plane from it, shear of the slice stack,
    the letters of the i, j, k axes; ``PlaneInfo.description`` is the human text, e.g.
    ``"axial, LPS"``, ``"coronal, LIP"``, ``"oblique (tilted 18.5°)"``, ``"no patient geometry"``
    (a ``Volume`` with ``has_geometry=False``; its ``screen_labels`` are empty strings).
``describe_plane(volume_or_direction) -> str``
    Shortcut for ``acquisition_plane(...).description``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np

ViewName = Literal["axial", "coronal", "sagittal"]
VIEWS: tuple[ViewName, ...] = ("axial", "coronal", "sagittal")

#: Letter for the positive and negative direction of each LPS axis.
_POSITIVE = ("L", "P", "S")
_NEGATIVE = ("R", "A", "I")

#: For each view: patient axis (0=x, 1=y, 2=z) along the slice normal, and the
#: (patient axis, sign) that screen rows (downwards) and screen columns (rightwards) follow.
_VIEW_SPEC: dict[str, tuple[int, tuple[int, int], tuple[int, int]]] = {
    "axial": (2, (1, +1), (0, +1)),  # down = posterior, right = patient left
    "coronal": (1, (2, -1), (0, +1)),  # down = inferior, right = patient left
    "sagittal": (0, (2, -1), (1, +1)),  # down = inferior, right = posterior
}


class _HasDirection(Protocol):
    direction: np.ndarray


def _direction_of(source: _HasDirection | np.ndarray) -> np.ndarray:
    matrix = source if isinstance(source, np.ndarray) else source.direction
    matrix = np.asarray(matrix, dtype=float)
    if matrix.shape != (3, 3):
        raise ValueError(f"direction must be 3x3, got {matrix.shape}")
    return matrix


def direction_letters(vector: np.ndarray | tuple[float, float, float], threshold: float = 0.1,
                      max_letters: int = 3) -> str:
    """Patient-orientation letters of an LPS vector, dominant component first.

    A component contributes its letter when its share of the vector's length is above
    ``threshold`` (0.1 ≈ 5.7°): ``(1, 0, 0)`` → ``"L"``, ``(0, -0.95, 0.32)`` → ``"AS"``.
    """
    v = np.asarray(vector, dtype=float)
    norm = float(np.linalg.norm(v))
    if norm == 0.0:
        return ""
    v = v / norm
    order = np.argsort(-np.abs(v), kind="stable")
    letters = []
    for axis in order[:max_letters]:
        if abs(v[axis]) < threshold and letters:
            break
        letters.append(_POSITIVE[axis] if v[axis] > 0 else _NEGATIVE[axis])
    return "".join(letters)


def patient_axis_assignment(direction: np.ndarray) -> tuple[int, int, int]:
    """For each patient axis x, y, z: the index axis (0=i, 1=j, 2=k) closest to it.

    Solved as an assignment (each index axis used once) maximising the summed |cosines|, so
    it also works for oblique matrices where one index axis is close to two patient axes.
    """
    d = np.abs(_direction_of(direction))
    best = max(itertools.permutations(range(3)), key=lambda p: sum(d[x, p[x]] for x in range(3)))
    return best  # type: ignore[return-value]


@dataclass(frozen=True)
class ViewAxes:
    """How a view is cut out of a ``[k, j, i]`` array.

    ``slice_axis``, ``row_axis``, ``col_axis`` are numpy array axes (0 = k, 1 = j, 2 = i).
    The displayed plane is ``voxels`` indexed at the slice, transposed to (row_axis, col_axis),
    then reversed along rows if ``row_flip`` and along columns if ``col_flip``.
    ``row_vector`` / ``col_vector`` are the LPS unit vectors of one step down / right on screen.
    """

    view: str
    slice_axis: int
    row_axis: int
    col_axis: int
    row_flip: bool
    col_flip: bool
    row_vector: tuple[float, float, float]
    col_vector: tuple[float, float, float]
    slice_vector: tuple[float, float, float]


def _screen_axis(direction: np.ndarray, assign: tuple[int, ...], patient_axis: int,
                 sign: int) -> tuple[int, bool, np.ndarray]:
    index_axis = assign[patient_axis]
    vec = direction[:, index_axis]
    flip = bool(np.sign(vec[patient_axis]) != sign)
    return 2 - index_axis, flip, (-vec if flip else vec)


def view_axes(direction: _HasDirection | np.ndarray, view: str) -> ViewAxes:
    """Array axes and flips that show ``view`` in the radiological convention."""
    if view not in _VIEW_SPEC:
        raise ValueError(f"view must be one of {VIEWS}, got {view!r}")
    d = _direction_of(direction)
    assign = patient_axis_assignment(d)
    slice_p, (row_p, row_s), (col_p, col_s) = _VIEW_SPEC[view]
    row_axis, row_flip, row_vec = _screen_axis(d, assign, row_p, row_s)
    col_axis, col_flip, col_vec = _screen_axis(d, assign, col_p, col_s)
    slice_vec = d[:, assign[slice_p]]
    return ViewAxes(view, 2 - assign[slice_p], row_axis, col_axis, row_flip, col_flip,
                    tuple(row_vec), tuple(col_vec), tuple(slice_vec))  # type: ignore[arg-type]


@dataclass(frozen=True)
class ScreenLabels:
    """Orientation letters at the four screen edges of a view."""

    top: str
    bottom: str
    left: str
    right: str

    def as_dict(self) -> dict[str, str]:
        return {"top": self.top, "bottom": self.bottom, "left": self.left, "right": self.right}


def screen_labels(direction: _HasDirection | np.ndarray, view: str,
                  threshold: float = 0.1) -> ScreenLabels:
    """Edge letters of ``view``: e.g. axial of an LPS volume → top A, bottom P, left R, right L.

    A volume without patient geometry (``has_geometry=False``) gets empty labels.
    """
    if not getattr(direction, "has_geometry", True):
        return ScreenLabels("", "", "", "")
    axes = view_axes(direction, view)
    row = np.asarray(axes.row_vector)
    col = np.asarray(axes.col_vector)
    return ScreenLabels(top=direction_letters(-row, threshold), bottom=direction_letters(row, threshold),
                        left=direction_letters(-col, threshold), right=direction_letters(col, threshold))


@dataclass(frozen=True)
class PlaneInfo:
    """The acquisition plane of a volume's slices.

    ``plane``: nearest standard plane of the slices (from the normal of the i/j axes);
    ``tilt_deg``: angle between that normal and the patient axis of the plane;
    ``shear_deg``: angle between the slice-stacking axis k and the normal (gantry tilt stacks);
    ``axis_letters``: letters of the i, j, k axes, e.g. ``"LPS"``; ``oblique``: tilt above the limit.
    """

    plane: str
    tilt_deg: float
    shear_deg: float
    axis_letters: str
    oblique: bool

    @property
    def description(self) -> str:
        if self.plane == "unknown":
            return "no patient geometry"
        if self.oblique:
            return f"oblique (tilted {self.tilt_deg:.1f}°)"
        return f"{self.plane}, {self.axis_letters}"


def _angle_deg(a: np.ndarray, b: np.ndarray) -> float:
    cos = abs(float(a @ b)) / float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(np.degrees(np.arccos(min(1.0, cos))))


def acquisition_plane(direction: _HasDirection | np.ndarray, oblique_deg: float = 1.0) -> PlaneInfo:
    """Name, tilt and shear of the slice plane; oblique when tilted more than ``oblique_deg``.

    A volume without patient geometry gives plane "unknown" ("no patient geometry").
    """
    if not getattr(direction, "has_geometry", True):
        return PlaneInfo("unknown", 0.0, 0.0, "", False)
    d = _direction_of(direction)
    normal = np.cross(d[:, 0], d[:, 1])
    axis = int(np.argmax(np.abs(normal)))
    plane = ("sagittal", "coronal", "axial")[axis]
    tilt = _angle_deg(normal, np.eye(3)[axis])
    shear = _angle_deg(normal, d[:, 2])
    letters = "".join(direction_letters(d[:, a], max_letters=1) for a in range(3))
    return PlaneInfo(plane, round(tilt, 6), round(shear, 6), letters, tilt > oblique_deg)


def describe_plane(direction: _HasDirection | np.ndarray) -> str:
    """Human description of the acquisition plane: "axial, LPS", "oblique (tilted 18.5°)"."""
    return acquisition_plane(direction).description
