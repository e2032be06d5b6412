"""The 2D slice view: one plane of the shared `ViewerModel`, painted with QPainter.

Why raster painting and not a VTK image actor (measured on this machine kind: 2 cores, Mesa
llvmpipe under Xvfb, 768×768 view, 512² int16 CT slice, W/L changing every frame):
vtkImageActor + vtkRenderWindow.Render() took a median 27–28 ms per frame — software GL costs
~19 ms per VTK frame before any work — while windowing through a 64 K-entry lookup table into a
QImage and QPainter.drawImage (bilinear) took 3.9 ms (2.8 ms nearest). Only the raster path meets
the 16 ms target without a GPU, so 2D views paint with QPainter and VTK is kept for 3D. Raster
painting also makes `QWidget.grab()` and offscreen snapshots exact (no GL read-back).

Per frame: one plane copy (`viewer.core.reslice.extract_plane`, or a MIP/MinIP/mean slab) and
the windowed uint8 image that QImage wraps without copying.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QWheelEvent,
)
from PySide6.QtWidgets import QWidget

from viewer.core.measurements import Measurement
from viewer.core.reslice import PlaneGeometry, extract_plane, extract_slab
from viewer.core.view_state import ScreenTransform, SliceViewState, Tool, ViewerModel, ViewKind
from viewer.core.windowing import Window, apply_window
from viewer.ui import slice_annotations
from viewer.ui.measurement_editing import MeasurementEditor

#: ``(view, cache key, plane) -> filtered plane``, or None while it is being computed.
DisplayFilter = Callable[["SliceView", tuple[object, ...], np.ndarray], "np.ndarray | None"]

VIEW_COLOURS: dict[ViewKind, QColor] = {
    ViewKind.AXIAL: QColor(255, 70, 70),
    ViewKind.CORONAL: QColor(70, 230, 70),
    ViewKind.SAGITTAL: QColor(70, 150, 255),
}
#: What each mouse button's drag does: "tool" (the active tool; W/L by default), "window",
#: "zoom", "pan" or "" (nothing).
DEFAULT_BUTTON_ACTIONS = {"left": "tool", "right": "zoom", "middle": "pan"}
BUTTON_ACTIONS = ("tool", "window", "zoom", "pan", "")
_BUTTON_NAMES = {Qt.MouseButton.LeftButton: "left", Qt.MouseButton.RightButton: "right",
                 Qt.MouseButton.MiddleButton: "middle"}
_PAGE_KEYS = {Qt.Key.Key_Up: -1, Qt.Key.Key_Down: 1, Qt.Key.Key_PageUp: -10, Qt.Key.Key_PageDown: 10}


class WindowLut:
    """Windowing through a lookup table for 8/16-bit integer voxels (one gather per frame)."""

    def __init__(self) -> None:
        self._key: tuple[object, ...] | None = None
        self._lut = np.zeros(0, np.uint8)
        self._offset = 0

    def apply(self, plane: np.ndarray, window: Window, invert: bool) -> np.ndarray:
        dtype = plane.dtype
        if dtype.kind not in "iu" or dtype.itemsize > 2:
            return apply_window(plane, window, invert)
        key = (dtype.str, window.center, window.width, invert)
        if key != self._key:
            info = np.iinfo(dtype)
            values = np.arange(info.min, info.max + 1, dtype=np.int32)
            self._lut, self._offset, self._key = apply_window(values, window, invert), -info.min, key
        index = plane.astype(np.int32) + self._offset if self._offset else plane
        return self._lut[index]


class SliceView(QWidget):
    """A 2D view of one plane (axial, coronal or sagittal) with the conventional mouse and keys.

    Mouse: wheel = slice, left-drag = active tool (W/L by default), right-drag = zoom,
    middle-drag = pan. Keys: arrows/PgUp/PgDn/Home/End page, 1–9 presets, R reset,
    I invert, C cine.
    """

    hovered = Signal(str)  # "value at cursor" text for the status bar
    activated = Signal(object)  # this view got focus (for the main window's "current view")

    def __init__(self, model: ViewerModel, kind: ViewKind = ViewKind.AXIAL,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.state = SliceViewState(kind)
        self.geometry: PlaneGeometry | None = None
        self.smooth = True
        self.button_actions = dict(DEFAULT_BUTTON_ACTIONS)  # configurable (settings "mouse/…")
        self._lut = WindowLut()
        self._image: QImage | None = None
        self._image_key: tuple[object, ...] | None = None
        self._plane: np.ndarray | None = None
        self._plane_key: tuple[object, ...] | None = None
        self._reduced: np.ndarray | None = None
        self._reduced_key: tuple[object, ...] | None = None
        self._data_version = 0
        self._drag: tuple[Qt.MouseButton, QPointF] | None = None
        self._draft: list[tuple[float, float]] = []  # plane (row, col) points of a measurement
        self.layers: list[Callable[[QPainter, SliceView], None]] = []  # drawn over the image
        self.editor = MeasurementEditor(self)  # select, reshape, move, delete measurements
        # display only: display_filter(view, key, plane) returns the filtered plane, or None while it
        # is computed elsewhere (then set_filtered(key, plane) hands it over and the view repaints)
        self.display_filter: DisplayFilter | None = None
        self.filter_shown = False  # the image on screen is the filtered one
        self.display_filter_key: object = None  # what the filter is (part of the image cache key)
        self._filtered_key: tuple[object, ...] | None = None
        self.measure_boxes: list[tuple[float, float, float, float]] = []
        self._filtered_plane: np.ndarray | None = None
        self.cine_fps = 15.0
        self._cine = QTimer(self)
        self._cine.timeout.connect(self._cine_step)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(True)
        self.setMinimumSize(64, 64)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self._connect_model()
        self._on_volume()

    # --- model wiring ---------------------------------------------------------------------
    def _connect_model(self) -> None:
        self.model.volume_changed.connect(self._on_volume)
        self.model.cursor_changed.connect(self.update)
        self.model.display_changed.connect(self.update)
        self.model.measurements_changed.connect(self.update)
        self.model.data_changed.connect(self._on_data)

    def _on_volume(self) -> None:
        volume = self.model.volume
        previous = self.geometry.volume_shape if self.geometry is not None else None
        self.geometry = self.model.geometry(self.state.kind) if volume is not None else None
        if self.geometry is None or self.geometry.volume_shape != previous:
            self.state.reset()
        self._image_key = self._plane_key = None
        self.update()

    def _on_data(self) -> None:
        self._data_version += 1
        self.update()

    def set_kind(self, kind: ViewKind) -> None:
        self.state.kind = ViewKind(kind)
        self._on_volume()

    # --- geometry helpers -----------------------------------------------------------------
    @property
    def slice_index(self) -> int:
        return int(self.model.cursor[self.geometry.axes.slice_axis]) if self.geometry else 0

    @property
    def n_slices(self) -> int:
        return self.geometry.n_slices if self.geometry else 0

    def transform(self) -> ScreenTransform | None:
        if self.geometry is None:
            return None
        return ScreenTransform.fit(self.geometry.shape, self.geometry.pixel_spacing,
                                   (self.width(), self.height()), self.state.zoom, self.state.pan)

    def plane(self) -> np.ndarray | None:
        """The values shown now (rows, cols): the plane, or the slab when one is set."""
        model = self.model
        if self.geometry is None or model.volume is None:
            return None
        key = (self.slice_index, model.slab_mode, model.slab_mm, self._data_version, id(model.volume))
        if key != self._plane_key:
            kind, index = str(self.state.kind), self.slice_index
            if model.slab_mode and not model.volume.is_2d:
                plane = extract_slab(model.volume, kind, index, model.slab_mm, model.slab_mode, self.geometry)
            else:
                plane = extract_plane(model.volume, kind, index, self.geometry)
            self._plane, self._plane_key = plane, key
        return self._plane

    def set_slice(self, index: int) -> None:
        if self.geometry is not None:
            self.model.set_slice(self.geometry.axes.slice_axis, index)

    def step(self, step: int) -> None:
        if self.geometry is not None:
            self.model.step_slice(self.geometry.axes.slice_axis, step)

    # --- painting -------------------------------------------------------------------------
    def _display_factor(self, transform: ScreenTransform) -> int:
        """Whole-pixel reduction for display when the image is shown at under half size."""
        return max(1, int(1.0 / max(min(transform.sx, transform.sy), 1e-6)))

    def _display_plane(self, plane: np.ndarray, factor: int) -> np.ndarray:
        """``plane`` block-averaged by ``factor`` (cached per plane): a 1760² radiograph shown
        at 40 % is windowed at a quarter of the pixels, W/L stays within the frame budget."""
        key = (self._plane_key, factor)
        if factor == 1:
            return plane
        if key != self._reduced_key:
            rows, cols = (n // factor * factor for n in plane.shape)
            blocks = plane[:rows, :cols].reshape(rows // factor, factor, cols // factor, factor)
            reduced = blocks.mean(axis=(1, 3), dtype=np.float32)
            self._reduced = np.rint(reduced).astype(plane.dtype) if plane.dtype.kind in "iu" else reduced
            self._reduced_key = key
        return self._reduced

    def _filtered(self, shown: np.ndarray, factor: int) -> np.ndarray:
        """``shown`` through the display filter, if one is set (cached per plane: W/L stays fast);
        the unfiltered image until the filtered one is ready. Only the image on screen is
        filtered; ``plane()`` and every measurement stay unfiltered."""
        self.filter_shown = False
        if self.display_filter is None:
            return shown
        key = (self._plane_key, factor, self.display_filter_key)
        if key != self._filtered_key:
            filtered = self.display_filter(self, key, shown)
            if filtered is None:
                return shown
            self._filtered_plane, self._filtered_key = filtered, key
        self.filter_shown = True
        return self._filtered_plane

    def set_filtered(self, key: tuple[object, ...], plane: np.ndarray) -> None:
        """The display filter's result for ``key`` (from ``display_filter``), shown at once."""
        self._filtered_plane, self._filtered_key = plane, key
        self._image_key = None
        self.update()

    def _current_image(self, transform: ScreenTransform) -> tuple[QImage, int] | None:
        """The windowed image to draw and the factor it was reduced by."""
        plane = self.plane()
        if plane is None:
            return None
        window, invert, factor = self.model.window, self.model.invert, self._display_factor(transform)
        key = (self._plane_key, window, invert, factor, self.display_filter_key)
        if key != self._image_key:
            shown = self._display_plane(plane, factor)
            shown = self._filtered(shown, factor)
            grey = np.ascontiguousarray(self._lut.apply(shown, window, invert))
            rows, cols = grey.shape
            self._image = QImage(grey.data, cols, rows, cols, QImage.Format.Format_Grayscale8)
            self._image_buffer = grey  # QImage does not own the numpy memory
            self._image_key = key
        return self._image, factor

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt API)
        painter = QPainter(self)
        painter.fillRect(self.rect(), Qt.GlobalColor.black)
        transform = self.transform()
        current = self._current_image(transform) if transform is not None else None
        if current is not None:
            image, factor = current
            width, height = image.width() * factor * transform.sx, image.height() * factor * transform.sy
            target = QRectF(transform.x0, transform.y0, width, height)
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self.smooth)
            painter.drawImage(target, image)
            self._paint_layers(painter)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            if self.model.show_crosshair and not self.model.volume.is_2d:
                self._paint_crosshair(painter, transform)
            self._paint_measurements(painter, transform)
            slice_annotations.paint_corner_text(painter, self)
            slice_annotations.paint_orientation_labels(painter, self)
        else:
            slice_annotations.paint_empty(painter, self)
        if self.hasFocus():
            painter.setPen(QPen(VIEW_COLOURS[self.state.kind].darker(160), 2))
            painter.drawRect(self.rect().adjusted(1, 1, -1, -1))
        painter.end()

    def add_layer(self, paint: Callable[[QPainter, SliceView], None]) -> None:
        """Draw ``paint(painter, view)`` over the image each frame, under the crosshair,
        measurements and text (e.g. the AI heat map: ``lambda p, v: overlay.paint(p, frame_of(v))``)."""
        self.layers.append(paint)
        self.update()

    def _paint_layers(self, painter: QPainter) -> None:
        for paint in self.layers:
            painter.save()
            paint(painter, self)
            painter.restore()

    def _paint_crosshair(self, painter: QPainter, transform: ScreenTransform) -> None:
        row, col, _ = self.geometry.from_index(self.model.cursor)
        x, y = (round(v) + 0.5 for v in transform.to_screen(float(row), float(col)))
        axes = self.geometry.axes
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)  # crisp 1-px lines
        for kind in (k for k in ViewKind if k != self.state.kind):
            other_axis = self.model.geometry(kind).axes.slice_axis
            painter.setPen(QPen(VIEW_COLOURS[kind], 1))
            if other_axis == axes.row_axis:
                painter.drawLine(QPointF(0, y), QPointF(self.width(), y))
            elif other_axis == axes.col_axis:
                painter.drawLine(QPointF(x, 0), QPointF(x, self.height()))
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)

    def _paint_measurements(self, painter: QPainter, transform: ScreenTransform) -> None:
        selected = self.model.measurements.selected_id
        items = self.model.measurements.for_plane(str(self.state.kind), self.slice_index)
        taken = [slice_annotations.shape_box(transform, Tool(m.kind), list(m.points)) for m in items]
        shapes = len(taken)
        taken += slice_annotations.reserved_boxes(self) if items else []  # corner text, letters, scale bar
        bounds = (0.0, 0.0, float(self.width()), float(self.height()))
        for item in items:
            slice_annotations.paint_measurement(painter, transform, Tool(item.kind), list(item.points),
                                       _label(item), selected=item.id == selected, taken=taken,
                                       bounds=bounds)
        self.measure_boxes = taken[:shapes] + taken[len(taken) - len(items):]  # shapes, then labels
        if self._draft:
            slice_annotations.paint_measurement(painter, transform, self.model.tool, self._draft, "")

    # --- mouse ----------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        self.setFocus()
        self.activated.emit(self)
        self._drag = (event.button(), event.position())
        if self._action(event.button()) == "tool" and self.geometry is not None:
            self._tool_press(event.position())

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        pos = event.position()
        self._emit_hover(pos)
        if self._drag is None:
            if self.model.tool == Tool.ANGLE and self._draft:
                self._draft[-1] = self._plane_point(pos)
                self.update()
            return
        button, last = self._drag
        dx, dy = pos.x() - last.x(), pos.y() - last.y()
        self._drag = (button, pos)
        action = self._action(button)
        if action == "tool":
            self._tool_drag(pos, dx, dy)
        elif action == "window":
            self.drag_window(dx, dy)
        elif action == "zoom":
            self.state.zoom_by(float(np.exp(-dy / 150)))
        elif action == "pan":
            self.state.pan_by(dx, dy)
        self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._drag and self._action(self._drag[0]) == "tool":
            self._tool_release(event.position())
        self._drag = None

    def _action(self, button: Qt.MouseButton) -> str:
        return self.button_actions.get(_BUTTON_NAMES.get(button, ""), "")

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802
        steps = event.angleDelta().y() // 120 or (1 if event.angleDelta().y() > 0 else -1)
        self.step(-int(steps))

    def _plane_point(self, pos: QPointF) -> tuple[float, float]:
        return self.transform().to_plane(pos.x(), pos.y())

    def _emit_hover(self, pos: QPointF) -> None:
        plane, transform = self.plane(), self.transform()
        if plane is None or transform is None:
            return
        row, col = (int(round(v)) for v in transform.to_plane(pos.x(), pos.y()))
        if 0 <= row < plane.shape[0] and 0 <= col < plane.shape[1]:
            unit = " HU" if self.model.volume.modality == "CT" else ""
            self.hovered.emit(f"({col}, {row}) value {plane[row, col]:g}{unit}")

    # --- tools ----------------------------------------------------------------------------
    def _tool_press(self, pos: QPointF) -> None:
        tool, point = self.model.tool, self._plane_point(pos)
        if tool != Tool.CROSSHAIR and not self._draft and self.editor.press(pos):
            return
        if tool == Tool.CROSSHAIR:
            self._move_cursor(point)
        elif tool in (Tool.DISTANCE, Tool.ELLIPSE, Tool.RECTANGLE):
            self._draft = [point, point]
        elif tool == Tool.ANGLE:
            self._draft = self._draft[:-1] + [point, point] if self._draft else [point, point]

    def _tool_drag(self, pos: QPointF, dx: float, dy: float) -> None:
        tool = self.model.tool
        if self.editor.drag(pos):
            return
        if tool == Tool.WINDOW:
            self.drag_window(dx, dy)
        elif tool == Tool.CROSSHAIR:
            self._move_cursor(self._plane_point(pos))
        elif self._draft:
            self._draft[-1] = self._plane_point(pos)

    def _tool_release(self, pos: QPointF) -> None:
        tool = self.model.tool
        if self.editor.release():
            return
        if tool in (Tool.DISTANCE, Tool.ELLIPSE, Tool.RECTANGLE) and len(self._draft) == 2:
            self._draft[-1] = self._plane_point(pos)
            self.add_measurement(tool, self._draft)
            self._draft = []
        elif tool == Tool.ANGLE and len(self._draft) == 4:
            self.add_measurement(tool, self._draft[:3])
            self._draft = []
        self.update()

    def drag_window(self, dx: float, dy: float) -> None:
        """Left-drag W/L: right widens, down raises the level; faster for wide windows."""
        scale = max(self.model.window.width, 20.0) / 300.0
        self.model.set_window(self.model.window.moved(dy * scale, dx * scale))

    def _move_cursor(self, point: tuple[float, float]) -> None:
        self.model.set_cursor(self.geometry.to_index(point[0], point[1], self.slice_index))

    def add_measurement(self, tool: Tool, points: list[tuple[float, float]]) -> Measurement:
        """Record a measurement drawn on the current plane (points are plane (row, col))."""
        return self.model.measure(tool, self.state.kind, self.slice_index, points, self.plane())

    # --- keys -----------------------------------------------------------------------------
    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        key = event.key()
        if key in _PAGE_KEYS:
            self.step(_PAGE_KEYS[key])
        elif key == Qt.Key.Key_Home:
            self.set_slice(0)
        elif key == Qt.Key.Key_End:
            self.set_slice(self.n_slices - 1)
        elif Qt.Key.Key_1 <= key <= Qt.Key.Key_9:
            self.model.apply_preset(key - Qt.Key.Key_0)
        elif key == Qt.Key.Key_R:
            self.reset()
        elif key == Qt.Key.Key_I:
            self.model.set_invert(not self.model.invert)
        elif key == Qt.Key.Key_C:
            self.toggle_cine()
        elif key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) and self.editor.delete_selected():
            pass
        elif key == Qt.Key.Key_Escape:
            if not self._draft and self.model.measurements.selected_id is not None:
                self.model.measurements.select(None)  # Esc: drop the draft, else the selection
            self._draft = []
            self.update()
        else:
            super().keyPressEvent(event)

    def reset(self) -> None:
        """R: fit to the view, no pan, the series' initial window."""
        self.state.reset()
        if self.model.volume is not None:
            self.model.set_window(self.model.initial_window(self.model.volume))
        self.update()

    def toggle_cine(self, fps: float | None = None) -> None:
        """Start or stop paging through the slices at ``fps`` (default: :attr:`cine_fps`)."""
        if self._cine.isActive():
            self._cine.stop()
        else:
            self._cine.start(int(1000 / (fps or self.cine_fps)))

    def set_cine_fps(self, fps: float) -> None:
        """The cine speed; a running cine changes speed at once."""
        self.cine_fps = float(fps)
        if self._cine.isActive():
            self._cine.setInterval(int(1000 / self.cine_fps))

    def _cine_step(self) -> None:
        if self.n_slices:
            self.set_slice((self.slice_index + 1) % self.n_slices)

    # --- capture --------------------------------------------------------------------------
    def render_image(self) -> QImage:
        """What the view shows now, as an image (raster painting: exact, also offscreen)."""
        image = QImage(self.size(), QImage.Format.Format_RGB32)
        self.render(image)
        return image



def _label(item: Measurement) -> str:
    """The measurement's result, one value per line for ROIs."""
    return item.result.summary().replace(", ", "\n") if item.result is not None else ""
