"""Histogram with a draggable W/L region, and the intensity-profile plot (pytest-qt, real mouse)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from viewer.core.measurements import PixelMetric, intensity_profile
from viewer.core.windowing import Window
from viewer.ui.plots import HistogramPlot, ProfilePlot, histogram


def ct_like_image() -> np.ndarray:
    rng = np.random.default_rng(7)
    image = rng.normal(-850, 60, (256, 256))  # lung
    image[64:192, 64:192] = rng.normal(40, 15, (128, 128))  # soft tissue
    image[100:140, 100:140] = rng.normal(700, 80, (40, 40))  # bone
    return image.astype(np.float32)


def to_widget(plot: HistogramPlot, x: float, y_fraction: float = 0.5) -> QPoint:
    """Widget (viewport) position of data value ``x`` at a fraction of the plot height."""
    vb = plot.plotItem.vb
    (_, _), (y0, y1) = vb.viewRange()
    scene = vb.mapViewToScene(QPointF(x, y0 + (y1 - y0) * y_fraction))
    return plot.mapFromScene(scene)


def send(widget, kind: QEvent.Type, pos: QPoint, buttons: Qt.MouseButton) -> None:  # noqa: ANN001
    button = Qt.MouseButton.LeftButton if kind != QEvent.Type.MouseMove else Qt.MouseButton.NoButton
    event = QMouseEvent(kind, QPointF(pos), QPointF(widget.mapToGlobal(pos)), button, buttons,
                        Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, event)


def hover(qtbot, plot: HistogramPlot, x: float, item) -> None:  # noqa: ANN001
    """Point (no button) at data value ``x`` until ``item`` (region or edge) says it is hovered.

    pyqtgraph gives a drag to the item the pointer hovered when the button went down; without a
    hover first it guessed from the geometry at the first move, and a layout that settled between
    the press and that move gave the drag to the view box (a pan: no ``window_changed``).
    """
    def hovered() -> bool:
        send(plot.viewport(), QEvent.Type.MouseMove, to_widget(plot, x), Qt.MouseButton.NoButton)
        return item.mouseHovering

    qtbot.waitUntil(hovered, timeout=10_000)


def drag(qtbot, plot: HistogramPlot, x_from: float, x_to: float, item, steps: int = 10) -> None:  # noqa: ANN001
    """Press on ``item`` at ``x_from``, move to ``x_to`` and release, as a person would. Every
    position is mapped from data values at the moment it is sent (after any re-layout)."""
    viewport, left = plot.viewport(), Qt.MouseButton.LeftButton
    hover(qtbot, plot, x_from, item)
    send(viewport, QEvent.Type.MouseButtonPress, to_widget(plot, x_from), left)
    for n in range(1, steps + 1):
        send(viewport, QEvent.Type.MouseMove, to_widget(plot, x_from + (x_to - x_from) * n / steps), left)
    send(viewport, QEvent.Type.MouseButtonRelease, to_widget(plot, x_to), Qt.MouseButton.NoButton)


def settled(plot: HistogramPlot) -> bool:
    """True once painting and the layout it requests no longer move the plot area (the axes size
    themselves to their labels when first painted)."""
    before = plot.plotItem.vb.sceneBoundingRect()
    plot.grab()
    QApplication.sendPostedEvents()
    return plot.plotItem.vb.sceneBoundingRect() == before


@pytest.fixture
def hist(qtbot) -> Iterator[HistogramPlot]:  # noqa: ANN001
    plot = HistogramPlot()
    qtbot.addWidget(plot)
    plot.resize(600, 300)
    plot.show()
    qtbot.waitExposed(plot)
    plot.set_image(ct_like_image(), Window(40, 400, "mediastinum"))
    plot.setXRange(-1200, 1400, padding=0)
    qtbot.waitUntil(lambda: settled(plot), timeout=10_000)
    rate_limit = pg.getConfigOption("mouseRateLimit")
    pg.setConfigOptions(mouseRateLimit=0)  # synthetic moves come faster than pyqtgraph's 100 Hz cap
    yield plot
    pg.setConfigOptions(mouseRateLimit=rate_limit)


def test_histogram_counts_match_numpy() -> None:
    image = ct_like_image()
    edges, counts = histogram(image)
    expected, expected_edges = np.histogram(image, bins=256)
    np.testing.assert_array_equal(counts, expected)
    np.testing.assert_allclose(edges, expected_edges, rtol=1e-5)
    assert counts.sum() == image.size


def test_dragging_the_region_moves_the_level(qtbot, hist: HistogramPlot, output_dir: Path) -> None:  # noqa: ANN001
    emitted: list[Window] = []
    hist.window_changed.connect(emitted.append)
    tolerance = 2600 / hist.plotItem.vb.width() * 2  # two screen pixels in HU
    drag(qtbot, hist, 40, 340, hist.region)
    assert emitted, "dragging the region must emit window_changed"
    final = emitted[-1]
    assert final.center == pytest.approx(340, abs=tolerance)
    assert final.width == pytest.approx(400, abs=tolerance)
    assert final.name == "" and hist.window() == final
    hist.grab().save(str(output_dir / "plots-histogram-dragged.png"))
    image = hist.grab().toImage()
    x = to_widget(hist, 340).x()
    y = to_widget(hist, 340, 0.9).y()
    colour = image.pixelColor(x, y)
    assert colour.red() > colour.blue(), "the (amber) W/L region is drawn where the window now is"


def test_dragging_an_edge_changes_the_width(qtbot, hist: HistogramPlot) -> None:  # noqa: ANN001
    emitted: list[Window] = []
    hist.window_changed.connect(emitted.append)
    tolerance = 2600 / hist.plotItem.vb.width() * 2
    drag(qtbot, hist, 240, 640, hist.region.lines[1])  # the upper edge (40 + 400/2)
    assert emitted, "dragging the edge must emit window_changed"
    final = emitted[-1]
    assert final.upper == pytest.approx(640, abs=tolerance)
    assert final.lower == pytest.approx(-160, abs=tolerance)
    assert final.width == pytest.approx(800, abs=2 * tolerance)


def test_set_window_moves_the_region_silently(hist: HistogramPlot) -> None:
    emitted: list[Window] = []
    hist.window_changed.connect(emitted.append)
    hist.set_window(Window(-600, 1500, "lung"))
    assert emitted == []
    assert hist.region.getRegion() == pytest.approx((-1350, 150))
    assert hist.window() == Window(-600, 1500, "lung")


def test_profile_plot_matches_the_line(qtbot, output_dir: Path) -> None:  # noqa: ANN001
    image = ct_like_image()
    metric = PixelMetric.from_spacing((0.78125, 0.78125))
    profile = intensity_profile(image, (120, 20), (120, 230), metric)  # along one row
    plot = ProfilePlot()
    qtbot.addWidget(plot)
    plot.resize(500, 250)
    plot.show()
    qtbot.waitExposed(plot)
    plot.set_profile(profile)
    xs, ys = plot.curve.getData()
    np.testing.assert_allclose(ys, image[120, 20:231])  # integer pixel steps: the row itself
    np.testing.assert_allclose(xs, np.arange(211) * 0.78125)
    assert plot.plotItem.getAxis("bottom").labelText == "distance (mm)"
    QApplication.processEvents()
    grab = plot.grab()
    grab.save(str(output_dir / "plots-profile.png"))
    pixels = grab.toImage()
    yellow = sum(1 for x in range(0, grab.width(), 2) for y in range(0, grab.height(), 2)
                 if (c := pixels.pixelColor(x, y)).red() > 200 and c.green() > 180 and c.blue() < 80)
    assert yellow > 50, "the profile curve is drawn"
    plot.clear_profile()
    assert len(plot.curve.getData()[0] or []) == 0
