"""The central area: MPR slice views (and the 3D view) in a 1×1, 1×2 or 2×2 layout."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QGridLayout, QLabel, QWidget

from viewer.core.body_regions import regions_of, regions_ready
from viewer.core.view_state import ViewerModel, ViewKind
from viewer.ui.slice_view import SliceView

#: Layout name → the panes in reading order (row-major); "3d" is the volume rendering.
LAYOUTS: dict[str, tuple[tuple[str, ...], int]] = {
    "1x1": (("axial",), 1),
    "1x2": (("axial", "coronal"), 2),
    "2x2": (("axial", "coronal", "sagittal", "3d"), 2),
}


def _make_3d_view(model: ViewerModel, parent: QWidget) -> QWidget:
    """The VTK volume view when it is available; a plain note otherwise (never a crash)."""
    try:
        from viewer.ui.volume_view import VolumeView  # imported lazily: VTK start-up is costly
    except ImportError:
        label = QLabel("3D view not available in this build", parent)
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        return label
    return VolumeView(parent)


class ViewGrid(QWidget):
    """Owns one `SliceView` per plane and places the ones the layout needs."""

    current_changed = Signal(object)  # SliceView that got focus
    status = Signal(str)  # short note for the status bar (e.g. while the 3D view prepares)
    view_3d_ready = Signal(object)  # the 3D view, after it was given the complete volume
    _regions_done = Signal()  # from the thread that computes a CT's body/lung masks

    def __init__(self, model: ViewerModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.views = {kind: SliceView(model, kind, self) for kind in ViewKind}
        for view in self.views.values():
            view.activated.connect(self._on_activated)
            view.hide()
        self.view_3d: QWidget | None = None
        self._regions_thread: threading.Thread | None = None
        self._regions_volume: object | None = None  # the volume whose masks that thread computes
        self._regions_done.connect(self._on_regions_done)
        self.current = self.views[ViewKind.AXIAL]
        self.layout_name = ""
        model.loaded.connect(self._schedule_3d)
        self._grid = QGridLayout(self)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setSpacing(2)
        self.set_layout("1x1")

    def set_layout(self, name: str) -> None:
        panes, columns = LAYOUTS[name]
        for widget in [*self.views.values(), self.view_3d]:
            if widget is not None:
                self._grid.removeWidget(widget)
                widget.hide()
        for n, pane in enumerate(panes):
            widget = self._pane(pane)
            self._grid.addWidget(widget, n // columns, n % columns)
            widget.show()
        for column in range(2):
            self._grid.setColumnStretch(column, 1 if column < columns else 0)
        for row in range(2):
            self._grid.setRowStretch(row, 1 if row < (len(panes) + columns - 1) // columns else 0)
        self.layout_name = name
        self.model.set_show_crosshair(len(panes) > 1)
        if self.current.isHidden():
            self.current = self.views[ViewKind.AXIAL]
        self._schedule_3d()

    def _schedule_3d(self) -> None:
        """Hand the 3D view the volume once it is complete, after the 2D views have painted.

        Volume rendering runs on the GUI thread (a full frame on llvmpipe takes 0.1–0.7 s, and
        user input stops it: `render_abort`), so it never sees the volume while it is loading, and
        only when its pane is shown. A CT's body/lung masks (`viewer.core.body_regions`, ~1.5 s)
        are computed first in a thread of their own.
        """
        QTimer.singleShot(0, self._update_3d)

    def _needs_3d(self) -> bool:
        view, volume = self.view_3d, self.model.volume
        if view is None or not view.isVisible() or volume is None or not self.model.complete:
            return False
        return hasattr(view, "scene") and view.scene.volume is not volume

    def _update_3d(self) -> None:
        if not self._needs_3d():
            return
        self.status.emit("Preparing the 3D view…")  # said first: the first frame takes a while
        if regions_ready(self.model.volume):
            QTimer.singleShot(50, self._render_3d)
        elif self._regions_thread is None:  # the masks (~1.5 s of SimpleITK) off the GUI thread
            self._regions_volume = self.model.volume
            self._regions_thread = threading.Thread(
                target=self._compute_regions, args=(self.model.volume,), name="rs-3d-regions",
                daemon=True)
            self._regions_thread.start()

    def _compute_regions(self, volume: object) -> None:
        """Thread body: fill `body_regions`' cache for ``volume``, then tell the GUI thread."""
        with contextlib.suppress(Exception):  # the GUI thread computes it again and reports it
            regions_of(volume)  # type: ignore[arg-type]
        with contextlib.suppress(RuntimeError):  # the grid is gone (window closed): nobody to tell
            self._regions_done.emit()  # queued to the GUI thread

    @Slot()
    def _on_regions_done(self) -> None:
        computed, self._regions_volume = self._regions_volume, None
        self.stop_preparing()
        if computed is self.model.volume:  # render even if the masks failed (never a retry loop)
            QTimer.singleShot(50, self._render_3d)
        else:  # the volume changed meanwhile: prepare that one
            self._update_3d()

    def stop_preparing(self) -> None:
        """Join the mask thread (at most one CT's computation); call before the grid goes."""
        if self._regions_thread is not None:
            self._regions_thread.join()
            self._regions_thread = None

    def _render_3d(self) -> None:
        if self._needs_3d():
            self.view_3d.set_volume(self.model.volume)
            self.status.emit("3D view ready")
            self.view_3d_ready.emit(self.view_3d)

    def _pane(self, pane: str) -> QWidget:
        if pane != "3d":
            return self.views[ViewKind(pane)]
        if self.view_3d is None:
            self.view_3d = _make_3d_view(self.model, self)
        return self.view_3d

    def add_layer(self, paint: Callable[[QPainter, SliceView], None]) -> None:
        """Add an overlay layer to every slice view (see `SliceView.add_layer`)."""
        for view in self.views.values():
            view.add_layer(paint)

    def update_views(self) -> None:
        for view in self.views.values():
            view.update()

    def visible_views(self) -> list[SliceView]:
        return [v for v in self.views.values() if v.isVisible()]

    def _on_activated(self, view: SliceView) -> None:
        self.current = view
        self.current_changed.emit(view)
        for other in self.views.values():
            other.update()
