"""Qt-free view model of the reading workstation (the napari way: model apart from widget).

`ViewerModel` holds what every view of one series shares: the `Volume`, the cursor (the voxel
the MPR views cross at, which is also each view's current slice), the display window, invert,
the active tool and the measurements. `SliceViewState` holds what belongs to one view: which
plane it shows, zoom and pan. `PlaneMapping` turns a voxel grid into a screen plane with the
conventional radiological orientation (axial: A up, patient's R on the screen's left; coronal:
S up, R on the left; sagittal: S up, A on the left), chosen from the direction cosines so that
it also holds for data acquired sagittally or coronally.

Nothing here imports Qt or VTK; the widgets in `viewer.ui` render this state and forward input.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from viewer.core.orientation import view_axes
from viewer.core.volume import Volume
from viewer.core.windowing import CT_PRESETS, Window, auto_window


class Event:
    """A minimal observer list: ``connect(fn)`` then ``emit(*args)`` calls every ``fn``."""

    def __init__(self) -> None:
        self._callbacks: list[Callable[..., None]] = []

    def connect(self, callback: Callable[..., None]) -> None:
        self._callbacks.append(callback)

    def disconnect(self, callback: Callable[..., None]) -> None:
        if callback in self._callbacks:
            self._callbacks.remove(callback)

    def emit(self, *args: object) -> None:
        for callback in list(self._callbacks):
            callback(*args)


class ViewKind(StrEnum):
    AXIAL = "axial"
    CORONAL = "coronal"
    SAGITTAL = "sagittal"


class Tool(StrEnum):
    WINDOW = "window"
    CROSSHAIR = "crosshair"
    DISTANCE = "distance"
    ANGLE = "angle"
    ELLIPSE = "ellipse"
    RECTANGLE = "rectangle"


@dataclass(frozen=True)
class PlaneMapping:
    """How one view cuts the ``[k, j, i]`` voxel array: screen rows/columns ↔ voxel axes.

    Axes are numpy axes of ``voxels`` (0 = k, 1 = j, 2 = i). ``flip_rows``/``flip_cols`` reverse
    the voxel axis so that the screen shows the conventional orientation.
    """

    kind: ViewKind
    slice_axis: int
    row_axis: int
    col_axis: int
    flip_rows: bool
    flip_cols: bool
    spacing: tuple[float, float, float]
    shape: tuple[int, int, int]
    right: tuple[float, float, float]  # LPS unit vector of one step right on screen
    down: tuple[float, float, float]  # LPS unit vector of one step down on screen

    @property
    def n_slices(self) -> int:
        return self.shape[self.slice_axis]

    @property
    def plane_shape(self) -> tuple[int, int]:
        return self.shape[self.row_axis], self.shape[self.col_axis]

    @property
    def pixel_mm(self) -> tuple[float, float]:
        """(row spacing, column spacing) of the screen plane."""
        return self.spacing[self.row_axis], self.spacing[self.col_axis]

    def extract(self, voxels: np.ndarray, index: int) -> np.ndarray:
        """The plane at ``index`` as a 2D view (rows, cols) of ``voxels`` (no copy)."""
        plane = voxels[(slice(None),) * self.slice_axis + (index,)]
        if self.row_axis > self.col_axis:
            plane = plane.T
        return plane[:: -1 if self.flip_rows else 1, :: -1 if self.flip_cols else 1]

    def _along(self, axis: int, flip: bool, value: float) -> float:
        return (self.shape[axis] - 1 - value) if flip else value

    def to_voxel(self, index: float, row: float, col: float) -> np.ndarray:
        """Screen-plane (row, col) on slice ``index`` → fractional voxel ``[k, j, i]``."""
        kji = np.zeros(3)
        kji[self.slice_axis] = index
        kji[self.row_axis] = self._along(self.row_axis, self.flip_rows, row)
        kji[self.col_axis] = self._along(self.col_axis, self.flip_cols, col)
        return kji

    def to_plane(self, kji: np.ndarray | tuple[float, float, float]) -> tuple[float, float, float]:
        """Voxel ``[k, j, i]`` → (slice index, row, col) of this view."""
        kji = np.asarray(kji, dtype=float)
        row = self._along(self.row_axis, self.flip_rows, float(kji[self.row_axis]))
        col = self._along(self.col_axis, self.flip_cols, float(kji[self.col_axis]))
        return float(kji[self.slice_axis]), row, col

def plane_mapping(volume: Volume, kind: ViewKind) -> PlaneMapping:
    """The mapping that shows ``volume`` as ``kind`` in the radiological convention.

    Axes and flips come from `viewer.core.orientation.view_axes` (direction cosines, so data
    acquired sagittally, flipped or tilted are shown the right way up).
    """
    axes = view_axes(volume.direction, str(kind))
    return PlaneMapping(ViewKind(kind), axes.slice_axis, axes.row_axis, axes.col_axis,
                        axes.row_flip, axes.col_flip, volume.spacing, volume.shape,
                        axes.col_vector, axes.row_vector)


@dataclass(frozen=True)
class ScreenTransform:
    """Plane pixel (row, col) ↔ widget coordinates (x, y) for a given size, zoom and pan."""

    x0: float
    y0: float
    sx: float  # screen pixels per plane column
    sy: float  # screen pixels per plane row

    @classmethod
    def fit(cls, plane_shape: tuple[int, int], pixel_mm: tuple[float, float],
            size: tuple[int, int], zoom: float = 1.0, pan: tuple[float, float] = (0.0, 0.0)
            ) -> ScreenTransform:
        rows, cols = plane_shape
        row_mm, col_mm = pixel_mm
        width, height = size
        scale = min(width / (cols * col_mm), height / (rows * row_mm)) * zoom
        sx, sy = scale * col_mm, scale * row_mm
        return cls(width / 2 + pan[0] - cols * sx / 2, height / 2 + pan[1] - rows * sy / 2, sx, sy)

    def to_screen(self, row: float, col: float) -> tuple[float, float]:
        """Screen position of the centre of plane pixel (row, col)."""
        return self.x0 + (col + 0.5) * self.sx, self.y0 + (row + 0.5) * self.sy

    def to_plane(self, x: float, y: float) -> tuple[float, float]:
        """(row, col), fractional, under screen point (x, y)."""
        return (y - self.y0) / self.sy - 0.5, (x - self.x0) / self.sx - 0.5


@dataclass
class SliceViewState:
    """Per-view state: the plane shown, zoom (1 = fit to the view) and pan (screen pixels)."""

    kind: ViewKind = ViewKind.AXIAL
    zoom: float = 1.0
    pan: tuple[float, float] = (0.0, 0.0)

    def reset(self) -> None:
        self.zoom, self.pan = 1.0, (0.0, 0.0)

    def zoom_by(self, factor: float) -> None:
        self.zoom = float(np.clip(self.zoom * factor, 0.05, 40.0))

    def pan_by(self, dx: float, dy: float) -> None:
        self.pan = (self.pan[0] + dx, self.pan[1] + dy)


@dataclass
class MeasurementItem:
    """A measurement drawn on one plane: points are fractional voxel ``[k, j, i]``."""

    kind: Tool
    view: ViewKind
    slice_index: int
    points: list[np.ndarray]
    values: dict[str, float] = field(default_factory=dict)
    label: str = ""


def presets_for(volume: Volume | None) -> list[Window]:
    """Windows for the number keys: the CT presets for CT; the file's own + automatic otherwise."""
    if volume is None:
        return []
    if volume.modality == "CT":
        return list(CT_PRESETS.values())
    own = [volume.default_window] if volume.default_window else []
    return own + [auto_window(volume.voxels)]


class ViewerModel:
    """State shared by the views of one series, with events the widgets listen to."""

    def __init__(self) -> None:
        self.volume: Volume | None = None
        self.cursor = np.zeros(3, dtype=int)  # [k, j, i]
        self.window = Window(40, 400)
        self.invert = False
        self.tool = Tool.WINDOW
        self.measurements: list[MeasurementItem] = []
        self.info: dict[str, str] = {}  # display-only header text (patient, study, series)
        self.volume_changed = Event()
        self.cursor_changed = Event()
        self.display_changed = Event()  # window or invert
        self.data_changed = Event()  # more slices landed in the voxel array
        self.tool_changed = Event()
        self.measurements_changed = Event()

    # --- volume ---------------------------------------------------------------------------
    def set_volume(self, volume: Volume, info: dict[str, str] | None = None) -> None:
        self.volume = volume
        self.info = dict(info or {})
        self.cursor = np.array(volume.shape, dtype=int) // 2
        self.window = self.initial_window(volume)
        self.invert = volume.photometric_interpretation == "MONOCHROME1"
        self.measurements = []
        self.volume_changed.emit()
        self.measurements_changed.emit()

    @staticmethod
    def initial_window(volume: Volume) -> Window:
        if volume.default_window is not None:
            return volume.default_window
        if volume.modality == "CT":
            return CT_PRESETS["mediastinum"]
        return auto_window(volume.voxels)

    # --- cursor / slices ------------------------------------------------------------------
    def set_cursor(self, kji: np.ndarray | tuple[float, float, float]) -> None:
        if self.volume is None:
            return
        upper = np.array(self.volume.shape) - 1
        new = np.clip(np.rint(np.asarray(kji, dtype=float)).astype(int), 0, upper)
        if not np.array_equal(new, self.cursor):
            self.cursor = new
            self.cursor_changed.emit()

    def set_slice(self, axis: int, index: int) -> None:
        kji = self.cursor.copy()
        kji[axis] = index
        self.set_cursor(kji)

    def step_slice(self, axis: int, step: int) -> None:
        self.set_slice(axis, int(self.cursor[axis]) + step)

    # --- display --------------------------------------------------------------------------
    def set_window(self, window: Window) -> None:
        self.window = window
        self.display_changed.emit()

    def apply_preset(self, number: int) -> Window | None:
        """Number key ``number`` (1-based) → preset window; ``None`` when there is none."""
        presets = presets_for(self.volume)
        if not 1 <= number <= len(presets):
            return None
        self.set_window(presets[number - 1])
        return presets[number - 1]

    def set_invert(self, invert: bool) -> None:
        self.invert = invert
        self.display_changed.emit()

    def set_tool(self, tool: Tool) -> None:
        self.tool = Tool(tool)
        self.tool_changed.emit()

    # --- measurements ---------------------------------------------------------------------
    def add_measurement(self, item: MeasurementItem) -> None:
        self.measurements.append(item)
        self.measurements_changed.emit()

    def measure(self, kind: Tool, view: ViewKind, slice_index: int, points: list[np.ndarray],
                plane: np.ndarray, plane_points: list[tuple[float, float]],
                pixel_mm: tuple[float, float]) -> MeasurementItem:
        """Compute and record a measurement drawn on a plane (voxel and plane coordinates)."""
        if kind in (Tool.ELLIPSE, Tool.RECTANGLE):
            values = roi_values(plane, plane_points, kind == Tool.ELLIPSE, pixel_mm)
        else:
            values = line_values(self.volume, points)
        label = measurement_label(kind, values, self.volume.unit, self.volume.modality == "CT")
        item = MeasurementItem(kind, view, slice_index, points, values, label)
        self.add_measurement(item)
        return item

    def remove_measurement(self, item: MeasurementItem) -> None:
        if item in self.measurements:
            self.measurements.remove(item)
            self.measurements_changed.emit()


def _roi_mask(shape: tuple[int, int], corners: list[tuple[float, float]], ellipse: bool) -> np.ndarray:
    (r0, c0), (r1, c1) = corners
    rows, cols = np.ogrid[: shape[0], : shape[1]]
    if not ellipse:
        return ((rows >= min(r0, r1)) & (rows <= max(r0, r1))
                & (cols >= min(c0, c1)) & (cols <= max(c0, c1)))
    rc, cc = (r0 + r1) / 2, (c0 + c1) / 2
    ry, rx = max(abs(r1 - r0) / 2, 0.5), max(abs(c1 - c0) / 2, 0.5)
    return ((rows - rc) / ry) ** 2 + ((cols - cc) / rx) ** 2 <= 1.0


def roi_values(plane: np.ndarray, corners: list[tuple[float, float]], ellipse: bool,
               pixel_mm: tuple[float, float]) -> dict[str, float]:
    """Mean/SD/min/max and area of the pixels inside an ellipse or rectangle on a plane."""
    values = plane[_roi_mask(plane.shape, corners, ellipse)].astype(np.float64)
    if values.size == 0:
        return {"pixels": 0.0}
    return {"mean": float(values.mean()), "sd": float(values.std()), "min": float(values.min()),
            "max": float(values.max()), "pixels": float(values.size),
            "area": float(values.size * pixel_mm[0] * pixel_mm[1])}


def line_values(volume: Volume, points: list[np.ndarray]) -> dict[str, float]:
    """Length (distance) or angle at the middle point (angle) in patient space."""
    xyz = [volume.index_to_patient(p) if volume.has_geometry else np.asarray(p, float)[::-1]
           for p in points]
    if len(xyz) == 2:
        return {"length": float(np.linalg.norm(xyz[1] - xyz[0]))}
    a, b = xyz[0] - xyz[1], xyz[2] - xyz[1]
    cos = float(a @ b / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-12))
    return {"angle": float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))}


def measurement_label(kind: Tool, values: dict[str, float], unit: str, ct: bool) -> str:
    if kind == Tool.DISTANCE:
        return f"{values['length']:.1f} {unit}"
    if kind == Tool.ANGLE:
        return f"{values['angle']:.1f}°"
    if "mean" not in values:
        return "empty"
    hu = " HU" if ct else ""
    return (f"mean {values['mean']:.1f}{hu} SD {values['sd']:.1f}\n"
            f"min {values['min']:g} max {values['max']:g}\narea {values['area']:.1f} {unit}²")
