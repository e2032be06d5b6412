"""Qt-free view model of the reading workstation (the napari way: model apart from widget).

`ViewerModel` holds what every view of one series shares: the `Volume`, the cursor (the voxel
the MPR views cross at, which is also each view's current slice), the display window, invert,
the active tool and the measurements. `SliceViewState` holds what belongs to one view: which
plane it shows, zoom and pan. Plane cutting and orientation come from `viewer.core.reslice`
(`plane_geometry`: radiological convention from the direction cosines) and measurements from
`viewer.core.measurements`; this module only keeps the state and its events.

Nothing here imports Qt or VTK (viewer.core's import contract checks it); the widgets in `viewer.ui`
render this state and forward input.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from viewer.core.measurements import Measurement, MeasurementList, measure
from viewer.core.reslice import PlaneGeometry, SlabMode, plane_geometry
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


def presets_for(volume: Volume | None) -> list[Window]:
    """Windows for the number keys: the CT presets for CT, then the file's own window when it is
    none of them (so the preset box can return to it); the file's own + automatic otherwise."""
    if volume is None:
        return []
    own = [volume.default_window] if volume.default_window else []
    if volume.modality == "CT":
        presets = list(CT_PRESETS.values())
        return presets + [w for w in own if (w.center, w.width) not in {(p.center, p.width) for p in presets}]
    return own + [auto_window(volume.voxels)]


class ViewerModel:
    """State shared by the views of one series, with events the widgets listen to."""

    def __init__(self) -> None:
        self.volume: Volume | None = None
        self.cursor = np.zeros(3, dtype=int)  # [k, j, i]
        self.window = self._initial = Window(40, 400)
        self.invert = False
        self.slab_mode: SlabMode | None = None  # None = single plane; "mip" | "minip" | "mean"
        self.slab_mm = 10.0
        self.show_crosshair = True
        self.tool = Tool.WINDOW
        self.measurements = MeasurementList()
        self.info: dict[str, str] = {}  # display-only header text (patient, study, series)
        self.volume_changed = Event()
        self.cursor_changed = Event()
        self.display_changed = Event()  # window, invert, slab, crosshair visibility
        self.data_changed = Event()  # more slices landed in the voxel array
        self.tool_changed = Event()
        self.measurements_changed = Event()
        self.loaded = Event()  # the volume is complete (all slices read; 3D may use it)
        self.complete = False
        self.measurements.subscribe(lambda event: self.measurements_changed.emit())

    # --- volume ---------------------------------------------------------------------------
    def set_volume(self, volume: Volume, info: dict[str, str] | None = None,
                   window: Window | None = None, complete: bool = True) -> None:
        """Show ``volume``; ``complete=False`` while its voxels are still being read."""
        self.volume = volume
        self.complete = complete
        self.info = dict(info or {})
        self.cursor = np.array(volume.shape, dtype=int) // 2
        self.window = self._initial = window or self.initial_window(volume)
        self.invert = volume.photometric_interpretation == "MONOCHROME1"
        self.measurements.clear()
        self.volume_changed.emit()
        if complete:
            self.loaded.emit()

    def replace_volume(self, volume: Volume) -> None:
        """The same series, finished loading: keep cursor, window and measurements if the grid is
        unchanged (a progressive load ends with the final `Volume`), else start afresh."""
        if self.volume is None or volume.shape != self.volume.shape:
            self.set_volume(volume, self.info)
            return
        self.volume, self.complete = volume, True
        if self.window == self._initial:  # not changed by the reader: use the final volume's
            self.window = self._initial = self.initial_window(volume)
        self.volume_changed.emit()
        self.display_changed.emit()
        self.loaded.emit()

    def show_measurement(self, item: Measurement) -> None:
        """Move the cursor to the slice a measurement was drawn on."""
        self.set_slice(self.geometry(ViewKind(item.view)).axes.slice_axis, item.slice_index)

    @staticmethod
    def initial_window(volume: Volume) -> Window:
        if volume.default_window is not None:
            return volume.default_window
        if volume.modality == "CT":
            return CT_PRESETS["mediastinum"]
        return auto_window(volume.voxels)

    def geometry(self, kind: ViewKind) -> PlaneGeometry:
        return plane_geometry(self.volume, str(kind))

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

    def apply_named_preset(self, name: str) -> Window:
        """A preset by name ("lung", …, or "auto" / "default"); KeyError lists the choices."""
        named = {w.name: w for w in presets_for(self.volume)}
        if name not in named:
            raise KeyError(f"no preset {name!r} for this series (choices: {', '.join(named)})")
        self.set_window(named[name])
        return named[name]

    def set_invert(self, invert: bool) -> None:
        self.invert = invert
        self.display_changed.emit()

    def set_slab(self, mode: SlabMode | None, thickness_mm: float | None = None) -> None:
        self.slab_mode = mode
        if thickness_mm is not None:
            self.slab_mm = max(0.1, float(thickness_mm))
        self.display_changed.emit()

    def set_show_crosshair(self, show: bool) -> None:
        self.show_crosshair = show
        self.display_changed.emit()

    def set_tool(self, tool: Tool) -> None:
        self.tool = Tool(tool)
        self.tool_changed.emit()

    # --- measurements ---------------------------------------------------------------------
    def measure(self, kind: Tool, view: ViewKind, slice_index: int,
                points: list[tuple[float, float]], image: np.ndarray) -> Measurement:
        """Compute (``viewer.core.measurements``) and list a measurement drawn on a plane.

        ``points`` are (row, col) of the displayed ``image`` of ``view`` at ``slice_index``.
        """
        metric = self.geometry(view).metric
        unit = "HU" if self.volume.modality == "CT" else ""
        item = measure(str(kind), points, image, metric, str(view), slice_index, unit)  # type: ignore[arg-type]
        return self.measurements.add(item)
