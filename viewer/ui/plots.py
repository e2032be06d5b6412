"""pyqtgraph plots: image histogram with a draggable W/L region, and an intensity profile.

API
---
``HistogramPlot(parent=None, log_counts=True)`` — a ``pg.PlotWidget``:
    ``show_empty()`` (the state before any image: no axes, a note; ``is_empty``),
    ``set_image(values, window=None)`` (any-shaped array of display values, e.g. the current
    plane in HU), ``set_window(window)`` (moves the region, emits nothing), ``window()``;
    signal ``window_changed(Window)`` while the user drags the region or its edges
    (lower/upper edge = window lower/upper, so dragging the body moves the level and dragging
    an edge changes the width). ``region`` is the ``pg.LinearRegionItem``.
``ProfilePlot(parent=None)`` — a ``pg.PlotWidget``: ``set_profile(profile, value_unit="HU")``
    with a :class:`viewer.core.measurements.Profile`, ``clear_profile()``; ``curve`` holds the data.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QWidget

from viewer.core.measurements import Profile
from viewer.core.windowing import Window

_MAX_SAMPLES = 1_000_000
EMPTY_TEXT = "No image open"


def histogram(values: np.ndarray, bins: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """(edges, counts) of the finite values; sub-sampled above a million values."""
    flat = np.asarray(values).ravel()
    if flat.size > _MAX_SAMPLES:
        flat = flat[:: flat.size // _MAX_SAMPLES]
    flat = flat[np.isfinite(flat)] if flat.dtype.kind == "f" else flat
    if flat.size == 0:
        return np.array([0.0, 1.0]), np.zeros(1)
    lo, hi = float(flat.min()), float(flat.max())
    counts, edges = np.histogram(flat, bins=bins, range=(lo, hi if hi > lo else lo + 1))
    return edges, counts


class HistogramPlot(pg.PlotWidget):
    """Histogram of the current image with the display window as a draggable region."""

    window_changed = Signal(object)  # Window

    def __init__(self, parent: QWidget | None = None, log_counts: bool = True) -> None:
        super().__init__(parent)
        self.log_counts = log_counts
        self.setBackground("k")
        self.setMouseEnabled(x=True, y=False)
        self.setLabel("bottom", "value")
        self.setLabel("left", "log10(count + 1)" if log_counts else "count")
        self.curve = self.plot([0, 1], [0], stepMode="center", fillLevel=0, brush=(120, 160, 220, 120),
                               pen=pg.mkPen(150, 190, 255))
        self.region = pg.LinearRegionItem(values=(0, 1), brush=(255, 200, 0, 40),
                                          pen=pg.mkPen(255, 200, 0, width=2))
        self.region.setZValue(10)
        self.addItem(self.region)
        self._name = ""
        self._silent = False
        self.region.sigRegionChanged.connect(self._on_region_changed)
        self.empty_text = pg.TextItem(EMPTY_TEXT, color=(170, 170, 170), anchor=(0.5, 0.5))
        self.addItem(self.empty_text, ignoreBounds=True)
        self.show_empty()

    @property
    def is_empty(self) -> bool:
        return not self.curve.isVisible()

    def show_empty(self) -> None:
        """No image: no axes, curve or region (an axis of made-up values would mislead), a note."""
        for item in (self.curve, self.region):
            item.hide()
        for axis in ("bottom", "left"):
            self.getPlotItem().hideAxis(axis)
        self.setXRange(0, 1, padding=0)
        self.setYRange(0, 1, padding=0)
        self.empty_text.setPos(0.5, 0.5)
        self.empty_text.show()

    def _show_plot(self) -> None:
        self.empty_text.hide()
        for item in (self.curve, self.region):
            item.show()
        for axis in ("bottom", "left"):
            self.getPlotItem().showAxis(axis)
        self.enableAutoRange(y=True)

    def set_image(self, values: np.ndarray, window: Window | None = None) -> None:
        """Show the histogram of ``values`` (and move the region to ``window`` if given)."""
        self._show_plot()
        edges, counts = histogram(values)
        heights = np.log10(counts + 1.0) if self.log_counts else counts.astype(float)
        self.curve.setData(edges, heights)
        if window is not None:
            self.set_window(window)
        lo, hi = float(edges[0]), float(edges[-1])
        if window is not None:
            lo, hi = min(lo, window.lower), max(hi, window.upper)
        self.setXRange(lo, hi, padding=0.02)

    def set_window(self, window: Window) -> None:
        """Move the region to ``window`` without emitting ``window_changed``."""
        self._name = window.name
        self._silent = True
        try:
            self.region.setRegion((window.lower, window.upper))
        finally:
            self._silent = False

    def window(self) -> Window:
        """The window the region currently spans."""
        lower, upper = self.region.getRegion()
        return Window((lower + upper) / 2, max(float(upper - lower), 1.0), self._name)

    def _on_region_changed(self) -> None:
        if not self._silent:
            self._name = ""  # a hand-dragged window is no longer the named preset
            self.window_changed.emit(self.window())


class ProfilePlot(pg.PlotWidget):
    """Intensity profile along a distance measurement."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setBackground("k")
        self.showGrid(x=True, y=True, alpha=0.3)
        self.curve = self.plot([], [], pen=pg.mkPen(255, 220, 0, width=2))
        self.setLabel("bottom", "distance", units=None)

    def set_profile(self, profile: Profile, value_unit: str = "HU") -> None:
        """Plot ``profile.values`` against ``profile.distances``."""
        self.curve.setData(np.asarray(profile.distances, float), np.asarray(profile.values, float))
        self.setLabel("bottom", f"distance ({profile.unit})")
        self.setLabel("left", f"value ({value_unit})" if value_unit else "value")
        self.autoRange()

    def clear_profile(self) -> None:
        self.curve.setData([], [])
