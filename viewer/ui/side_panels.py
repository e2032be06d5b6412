"""Side panels wired to the viewer model: histogram with the W/L region, intensity profile of the
selected distance measurement, and the DICOM tags of the current axial slice's file.

Built after the main window is shown (pyqtgraph's import is not on the cold-start path), from
what they read: the view model, the view grid (the current view's plane) and the latest load
result (which file holds a slice); the window is only their Qt parent.
Histogram refreshes are coalesced (a 120 ms timer) so that paging stays at full speed.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QWidget

from viewer.core.measurements import intensity_profile
from viewer.core.reslice import extract_plane
from viewer.core.series_loader import LoadResult
from viewer.core.view_state import ViewerModel, ViewKind
from viewer.core.volume import Volume
from viewer.core.windowing import Window
from viewer.ui.plots import HistogramPlot, ProfilePlot
from viewer.ui.tag_browser import TagBrowser

if TYPE_CHECKING:
    from viewer.ui.view_grid import ViewGrid

_REFRESH_MS = 120


class PlotsBinder(QObject):
    """Keeps the histogram and profile plots in step with the model and the current view."""

    def __init__(self, model: ViewerModel, grid: ViewGrid, parent: QWidget) -> None:
        super().__init__(parent)
        self.model, self.grid = model, grid
        self.histogram = HistogramPlot(parent)
        self.profile = ProfilePlot(parent)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.refresh_histogram)
        self.histogram.window_changed.connect(self._from_histogram)
        for event in (self.model.volume_changed, self.model.cursor_changed, self.model.data_changed):
            event.connect(self.schedule)
        self.model.display_changed.connect(self._window_to_histogram)
        self.model.measurements_changed.connect(self.refresh_profile)
        grid.current_changed.connect(lambda _view: self.schedule())
        self.schedule()

    def schedule(self) -> None:
        if not self._timer.isActive():
            self._timer.start(_REFRESH_MS)

    def refresh_histogram(self) -> None:
        plane = self.grid.current.plane()
        if plane is not None:
            self.histogram.set_image(plane, self.model.window)

    def _window_to_histogram(self) -> None:
        if self.model.volume is not None:
            self.histogram.set_window(self.model.window)

    def _from_histogram(self, window: Window) -> None:
        self.model.set_window(window)

    def refresh_profile(self) -> None:
        """Profile along the selected distance measurement (or the last one drawn)."""
        measurements = self.model.measurements
        selected = measurements.selected
        distances = [m for m in measurements if m.kind == "distance"]
        item = selected if selected is not None and selected.kind == "distance" else (
            distances[-1] if distances else None)
        if item is None or self.model.volume is None:
            self.profile.clear_profile()
            return
        image = extract_plane(self.model.volume, item.view, item.slice_index)
        metric = self.model.geometry(item.view).metric
        unit = "HU" if self.model.volume.modality == "CT" else ""
        self.profile.set_profile(intensity_profile(image, item.points[0], item.points[1], metric), unit)


def slice_file(model: ViewerModel, result: LoadResult | None) -> Path | None:
    """The file holding the current axial slice (for a resampled volume: the nearest acquired)."""
    if model.volume is None or result is None or result.series is None:
        return None
    volume: Volume = result.acquired or model.volume
    k = int(model.cursor[model.geometry(ViewKind.AXIAL).axes.slice_axis])
    if volume is not model.volume:
        point = model.volume.index_to_patient(model.cursor.astype(float))
        k = int(np.clip(round(float(volume.patient_to_index(point)[0])), 0, volume.shape[0] - 1))
    if not volume.sop_instance_uids:
        return result.series.files[0] if result.series.files else None
    uid = volume.sop_instance_uids[min(k, len(volume.sop_instance_uids) - 1)]
    return next((f.path for f in result.series.frames if f.sop_instance_uid == uid), None)


class TagsBinder(QObject):
    """Shows the tags of the current slice's file; re-reads (header only) when it changes."""

    def __init__(self, model: ViewerModel, loaded: Callable[[], LoadResult | None], parent: QWidget) -> None:
        super().__init__(parent)
        self.model, self.loaded = model, loaded
        self.browser = TagBrowser(parent)
        self.path: Path | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.refresh)
        model.cursor_changed.connect(lambda: self._timer.start(_REFRESH_MS))
        model.loaded.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        path = slice_file(self.model, self.loaded())
        if path is not None and path != self.path:
            self.path = path
            self.browser.set_file(path)


def optional_panels(model: ViewerModel, grid: ViewGrid, loaded: Callable[[], LoadResult | None],
                    parent: QWidget) -> tuple[PlotsBinder, TagsBinder]:
    """The histogram and profile plots and the tags panel, each kept in step with the model."""
    return PlotsBinder(model, grid, parent), TagsBinder(model, loaded, parent)
