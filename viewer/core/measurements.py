"""Measurements on a displayed 2D plane: distance, angle, ellipse/rectangle ROIs, profiles.

Points are screen-plane pixel coordinates ``(row, col)`` (floats; pixel ``[r, c]`` has its
centre at ``(r, c)``) of the image that is shown. Physical size comes from a
:class:`PixelMetric` — the LPS vectors of one step down a row and right along a column — so
anisotropic and even sheared planes measure correctly. Get one from
``viewer.core.reslice.PlaneGeometry.metric`` / ``PlaneFrame.metric``, or build it with
``PixelMetric.from_spacing((row_mm, col_mm))``; unit is "mm", or "px" for images without
geometry (``Volume.unit``).

API
---
``PixelMetric(row_step, col_step, unit="mm")``; ``PixelMetric.from_spacing((row_mm, col_mm), unit)``;
``.length(d_row, d_col)``, ``.pixel_area``.
``distance(p0, p1, metric) -> float``; ``angle(a, vertex, b, metric) -> float`` (degrees, 0–180).
``RectangleROI(p0, p1)`` / ``EllipseROI(p0, p1)`` (opposite corners of the bounding box on
screen): ``.mask(shape)``, ``.area(metric)``, ``.stats(image, metric, value_unit) -> RoiStats``.
``RoiStats``: ``mean, sd, min, max, pixel_count, area, unit, value_unit`` (+ ``summary()``).
``intensity_profile(image, p0, p1, metric) -> Profile`` (``distances``, ``values``, ``unit``;
bilinear samples about one pixel apart, end points included).
``Measurement`` (kind, points, view, slice_index, id, result; ``summary()``) and
``measure(kind, points, image, metric, ...) -> Measurement``.
Editing: ``handles(m)`` (the points a reader can drag: end points, vertex, or an ROI's four box
corners), ``moved_handle(kind, points, handle, to)``, ``translated(points, d_row, d_col)`` and
``remeasure(m, points, image, metric, value_unit)`` (same id, new points, result recomputed).
``MeasurementList``: ``add``, ``update``, ``remove``, ``select``, ``clear``, ``selected``,
``for_plane(view, slice_index)``, iteration / ``len``; ``subscribe(callback) -> unsubscribe``
where ``callback(MeasurementEvent)`` gets ``kind`` in {"added", "changed", "removed",
"selected", "cleared"} and the ``measurement`` (None for "cleared" / deselect).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np

Point = tuple[float, float]
MeasurementKind = Literal["distance", "angle", "ellipse", "rectangle"]


@dataclass(frozen=True)
class PixelMetric:
    """Physical size of one pixel step: LPS vectors (mm, or px) of a row step and a column step."""

    row_step: tuple[float, float, float]
    col_step: tuple[float, float, float]
    unit: str = "mm"

    @classmethod
    def from_spacing(cls, spacing: tuple[float, float], unit: str = "mm") -> PixelMetric:
        """An orthogonal plane with ``(row_mm, col_mm)`` pixel spacing."""
        return cls((float(spacing[0]), 0.0, 0.0), (0.0, float(spacing[1]), 0.0), unit)

    def vector(self, d_row: float, d_col: float) -> np.ndarray:
        return d_row * np.asarray(self.row_step) + d_col * np.asarray(self.col_step)

    def length(self, d_row: float, d_col: float) -> float:
        return float(np.linalg.norm(self.vector(d_row, d_col)))

    @property
    def pixel_area(self) -> float:
        return float(np.linalg.norm(np.cross(self.row_step, self.col_step)))


def distance(p0: Point, p1: Point, metric: PixelMetric) -> float:
    """Length of the segment p0–p1 in ``metric.unit``."""
    return metric.length(p1[0] - p0[0], p1[1] - p0[1])


def angle(a: Point, vertex: Point, b: Point, metric: PixelMetric) -> float:
    """Angle a–vertex–b in degrees (physical space, so anisotropic pixels are accounted for)."""
    u = metric.vector(a[0] - vertex[0], a[1] - vertex[1])
    v = metric.vector(b[0] - vertex[0], b[1] - vertex[1])
    nu, nv = np.linalg.norm(u), np.linalg.norm(v)
    if nu == 0 or nv == 0:
        return 0.0
    cos = float(np.clip(u @ v / (nu * nv), -1.0, 1.0))
    return math.degrees(math.acos(cos))


@dataclass(frozen=True)
class RoiStats:
    """Statistics of the pixels whose centres lie inside an ROI (sd: sample SD, ddof=1)."""

    mean: float
    sd: float
    min: float
    max: float
    pixel_count: int
    area: float
    unit: str = "mm"
    value_unit: str = ""

    def summary(self) -> str:
        vu = f" {self.value_unit}" if self.value_unit else ""
        return (f"mean {self.mean:.1f}{vu}, SD {self.sd:.1f}, min {self.min:.0f}, max {self.max:.0f}, "
                f"area {self.area:.1f} {self.unit}², {self.pixel_count} px")


@dataclass(frozen=True)
class _BoxROI:
    p0: Point
    p1: Point

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        r0, r1 = sorted((self.p0[0], self.p1[0]))
        c0, c1 = sorted((self.p0[1], self.p1[1]))
        return r0, r1, c0, c1

    def _inside(self, rr: np.ndarray, cc: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _area_factor(self) -> float:
        raise NotImplementedError

    def mask(self, shape: tuple[int, int]) -> np.ndarray:
        """Boolean mask of ``shape``: True where the pixel centre is inside the ROI."""
        out = np.zeros(shape, dtype=bool)
        r0, r1, c0, c1 = self.bounds
        rs, re = max(0, math.ceil(r0)), min(shape[0], math.floor(r1) + 1)
        cs, ce = max(0, math.ceil(c0)), min(shape[1], math.floor(c1) + 1)
        if rs >= re or cs >= ce:
            return out
        rr, cc = np.meshgrid(np.arange(rs, re), np.arange(cs, ce), indexing="ij")
        out[rs:re, cs:ce] = self._inside(rr, cc)
        return out

    def area(self, metric: PixelMetric) -> float:
        """Geometric area of the drawn shape in ``metric.unit``²."""
        r0, r1, c0, c1 = self.bounds
        return self._area_factor() * (r1 - r0) * (c1 - c0) * metric.pixel_area

    def stats(self, image: np.ndarray, metric: PixelMetric, value_unit: str = "") -> RoiStats:
        """Mean / SD / min / max of ``image`` inside the ROI, with its area and pixel count."""
        values = np.asarray(image)[self.mask(image.shape[:2])].astype(np.float64)
        area = self.area(metric)
        if values.size == 0:
            nan = float("nan")
            return RoiStats(nan, nan, nan, nan, 0, area, metric.unit, value_unit)
        sd = float(values.std(ddof=1)) if values.size > 1 else 0.0
        return RoiStats(float(values.mean()), sd, float(values.min()), float(values.max()),
                        int(values.size), area, metric.unit, value_unit)


class RectangleROI(_BoxROI):
    """Axis-aligned (on screen) rectangle with opposite corners p0, p1."""

    def _inside(self, rr: np.ndarray, cc: np.ndarray) -> np.ndarray:
        return np.ones(rr.shape, dtype=bool)

    def _area_factor(self) -> float:
        return 1.0


class EllipseROI(_BoxROI):
    """Ellipse inscribed in the screen-aligned box with opposite corners p0, p1."""

    def _inside(self, rr: np.ndarray, cc: np.ndarray) -> np.ndarray:
        r0, r1, c0, c1 = self.bounds
        a, b = max((r1 - r0) / 2, 1e-9), max((c1 - c0) / 2, 1e-9)
        return ((rr - (r0 + r1) / 2) / a) ** 2 + ((cc - (c0 + c1) / 2) / b) ** 2 <= 1.0

    def _area_factor(self) -> float:
        return math.pi / 4


@dataclass(frozen=True)
class Profile:
    """Intensity profile along a line: ``values`` at ``distances`` (from the first point)."""

    distances: np.ndarray
    values: np.ndarray
    unit: str = "mm"


def sample_bilinear(image: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Bilinear samples of a 2D image at fractional (rows, cols), clamped to the image."""
    img = np.asarray(image, dtype=np.float64)
    r = np.clip(np.asarray(rows, dtype=float), 0, img.shape[0] - 1)
    c = np.clip(np.asarray(cols, dtype=float), 0, img.shape[1] - 1)
    r0, c0 = np.floor(r).astype(np.intp), np.floor(c).astype(np.intp)
    r1, c1 = np.minimum(r0 + 1, img.shape[0] - 1), np.minimum(c0 + 1, img.shape[1] - 1)
    wr, wc = r - r0, c - c0
    top = img[r0, c0] * (1 - wc) + img[r0, c1] * wc
    bottom = img[r1, c0] * (1 - wc) + img[r1, c1] * wc
    return top * (1 - wr) + bottom * wr


def intensity_profile(image: np.ndarray, p0: Point, p1: Point, metric: PixelMetric) -> Profile:
    """Values along p0→p1, sampled about one pixel apart (bilinear), with physical distances."""
    n = max(2, math.ceil(math.hypot(p1[0] - p0[0], p1[1] - p0[1])) + 1)
    t = np.linspace(0.0, 1.0, n)
    rows = p0[0] + t * (p1[0] - p0[0])
    cols = p0[1] + t * (p1[1] - p0[1])
    values = sample_bilinear(image, rows, cols)
    return Profile(t * distance(p0, p1, metric), values, metric.unit)


# --- measurement records and the list model ----------------------------------------------

@dataclass(frozen=True)
class DistanceResult:
    length: float
    unit: str

    def summary(self) -> str:
        return f"{self.length:.1f} {self.unit}"


@dataclass(frozen=True)
class AngleResult:
    degrees: float

    def summary(self) -> str:
        return f"{self.degrees:.1f}°"


Result = DistanceResult | AngleResult | RoiStats
_N_POINTS = {"distance": 2, "angle": 3, "ellipse": 2, "rectangle": 2}


@dataclass(frozen=True)
class Measurement:
    """One measurement drawn on a plane (``view`` + ``slice_index``) with its computed result."""

    kind: MeasurementKind
    points: tuple[Point, ...]
    view: str = ""
    slice_index: int = 0
    id: int = 0
    result: Result | None = None
    label: str = ""

    def summary(self) -> str:
        text = self.result.summary() if self.result is not None else ""
        return f"{self.label}: {text}" if self.label else text


def evaluate(kind: MeasurementKind, points: tuple[Point, ...], image: np.ndarray | None,
             metric: PixelMetric, value_unit: str = "") -> Result:
    """Compute the result of a measurement of ``kind`` (ROIs need the displayed ``image``)."""
    if len(points) != _N_POINTS[kind]:
        raise ValueError(f"{kind} needs {_N_POINTS[kind]} points, got {len(points)}")
    if kind == "distance":
        return DistanceResult(distance(points[0], points[1], metric), metric.unit)
    if kind == "angle":
        return AngleResult(angle(points[0], points[1], points[2], metric))
    if image is None:
        raise ValueError("an ROI needs the image")
    roi = EllipseROI(points[0], points[1]) if kind == "ellipse" else RectangleROI(points[0], points[1])
    return roi.stats(image, metric, value_unit)


def measure(kind: MeasurementKind, points: tuple[Point, ...] | list[Point], image: np.ndarray | None,
            metric: PixelMetric, view: str = "", slice_index: int = 0, value_unit: str = "",
            label: str = "") -> Measurement:
    """A new (not yet listed) measurement with its result computed."""
    pts = tuple((float(p[0]), float(p[1])) for p in points)
    result = evaluate(kind, pts, image, metric, value_unit)
    return Measurement(kind, pts, view, slice_index, 0, result, label)


# --- editing: handles a reader drags, and the recomputed result ------------------------------

_BOX_KINDS = ("ellipse", "rectangle")


def handles(measurement: Measurement) -> list[Point]:
    """The draggable points: a line's end points, an angle's three points, an ROI's four box
    corners (clockwise from ``points[0]``)."""
    if measurement.kind in _BOX_KINDS:
        (r0, c0), (r1, c1) = measurement.points
        return [(r0, c0), (r0, c1), (r1, c1), (r1, c0)]
    return list(measurement.points)


def moved_handle(kind: MeasurementKind, points: tuple[Point, ...], handle: int,
                 to: Point) -> tuple[Point, ...]:
    """``points`` with handle number ``handle`` (see :func:`handles`) moved to ``to``; an ROI
    corner moves while the opposite corner stays."""
    to = (float(to[0]), float(to[1]))
    if kind in _BOX_KINDS:
        (r0, c0), (r1, c1) = points
        corners = [(r0, c0), (r0, c1), (r1, c1), (r1, c0)]
        return (to, corners[(handle + 2) % 4])
    moved = list(points)
    moved[handle] = to
    return tuple(moved)


def translated(points: tuple[Point, ...], d_row: float, d_col: float) -> tuple[Point, ...]:
    """Every point moved by (d_row, d_col): the whole measurement dragged."""
    return tuple((r + d_row, c + d_col) for r, c in points)


def remeasure(measurement: Measurement, points: tuple[Point, ...] | list[Point], image: np.ndarray | None,
              metric: PixelMetric, value_unit: str = "") -> Measurement:
    """The same measurement (id, plane, label) at new ``points``, its result computed again."""
    pts = tuple((float(p[0]), float(p[1])) for p in points)
    return replace(measurement, points=pts, result=evaluate(measurement.kind, pts, image, metric, value_unit))


@dataclass(frozen=True)
class MeasurementEvent:
    kind: Literal["added", "changed", "removed", "selected", "cleared"]
    measurement: Measurement | None


Listener = Callable[[MeasurementEvent], None]


@dataclass
class MeasurementList:
    """Ordered measurements with one optional selection and plain-callback change events."""

    _items: dict[int, Measurement] = field(default_factory=dict)
    _listeners: list[Listener] = field(default_factory=list)
    _next_id: int = 1
    selected_id: int | None = None

    def subscribe(self, callback: Listener) -> Callable[[], None]:
        """Call ``callback(event)`` on every change; returns a function that unsubscribes."""
        self._listeners.append(callback)
        return lambda: self._listeners.remove(callback) if callback in self._listeners else None

    def _emit(self, kind: str, measurement: Measurement | None) -> None:
        event = MeasurementEvent(kind, measurement)  # type: ignore[arg-type]
        for listener in list(self._listeners):
            listener(event)

    def add(self, measurement: Measurement) -> Measurement:
        """Store it under a new id (returned in the stored copy) and emit "added"."""
        stored = replace(measurement, id=self._next_id)
        self._next_id += 1
        self._items[stored.id] = stored
        self._emit("added", stored)
        return stored

    def update(self, measurement: Measurement) -> Measurement:
        """Replace the measurement with the same id (e.g. after a drag) and emit "changed"."""
        if measurement.id not in self._items:
            raise KeyError(measurement.id)
        self._items[measurement.id] = measurement
        self._emit("changed", measurement)
        return measurement

    def remove(self, measurement_id: int) -> Measurement:
        """Delete by id (deselecting it if selected) and emit "removed"."""
        removed = self._items.pop(measurement_id)
        if self.selected_id == measurement_id:
            self.selected_id = None
        self._emit("removed", removed)
        return removed

    def select(self, measurement_id: int | None) -> None:
        """Select one measurement (None deselects) and emit "selected"."""
        if measurement_id is not None and measurement_id not in self._items:
            raise KeyError(measurement_id)
        self.selected_id = measurement_id
        self._emit("selected", self.selected)

    def remove_selected(self) -> Measurement | None:
        return self.remove(self.selected_id) if self.selected_id is not None else None

    def clear(self) -> None:
        self._items.clear()
        self.selected_id = None
        self._emit("cleared", None)

    @property
    def selected(self) -> Measurement | None:
        return self._items.get(self.selected_id) if self.selected_id is not None else None

    def get(self, measurement_id: int) -> Measurement:
        return self._items[measurement_id]

    def for_plane(self, view: str, slice_index: int) -> list[Measurement]:
        return [m for m in self._items.values() if m.view == view and m.slice_index == slice_index]

    def __iter__(self) -> Iterator[Measurement]:
        return iter(list(self._items.values()))

    def __len__(self) -> int:
        return len(self._items)
