"""The screen at 1280×800 and 1920×1080 in the dark theme, checked for collisions (pytest-qt, Xvfb):

* Studies columns are shown whole or not at all (never "Modalit", never off-screen), the AI
  columns included; the Tags panel has a value column; a long status message is fully visible;
* the empty histogram shows no made-up axis, only a note;
* a FracAtlas radiograph declared DX says "DX (declared)" in the browser; the finding labels sit
  on dark pixels (not over the burned-in marker or bone), off each other and off the boxes; the
  map selector shows its longest map name whole.
Screenshots in test-output/ (screen-collisions-*.png).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QSettings
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QApplication, QDockWidget

from viewer.core.label_placement import intersection
from viewer.core.view_state import ViewKind
from viewer.ui.column_fit import column_width, header_names
from viewer.ui.main_window import MainWindow
from viewer.ui.plots import EMPTY_TEXT

from .test_ai_workflow import ANALYSIS_TIMEOUT_MS, declare, fracatlas_image, require_model
from .test_reading_report import open_reading_window
from .test_screen_controls import dark_theme  # noqa: F401 (a fixture)
from .viewer_helpers import grab_screen, save, to_array

pytestmark = pytest.mark.gui

SIZES = [(1280, 800), (1920, 1080)]
LONG_STATUS = ("Analysis: 5 finding(s), 2 marked (score ≥ operating point). fracture-radiograph 2.0.0 on "
               "CPU in 0.6 s; nodule-ct not run: model 'nodule-ct' is for CT images; this one is DX; "
               "tumour-mri not run: model 'tumour-mri' is for MR images; this one is DX")


def size_name(size: tuple[int, int]) -> str:
    return f"{size[0]}x{size[1]}"


def resize(qtbot, window: MainWindow, size: tuple[int, int]) -> None:  # noqa: ANN001
    window.resize(*size)
    qtbot.waitUntil(lambda: (window.width(), window.height()) == size)
    QApplication.processEvents()


def dock(window: MainWindow, title: str) -> QDockWidget:
    return next(d for d in window.findChildren(QDockWidget) if d.windowTitle() == title)


def assert_columns_whole(tree) -> list[str]:  # noqa: ANN001
    """Every shown column but the stretching first one is at least as wide as its header and
    cells; together they fit the viewport (nothing off-screen). Returns the shown names."""
    header, names = tree.header(), header_names(tree)
    shown = [c for c in range(len(names)) if not tree.isColumnHidden(c)]
    for column in shown[1:]:
        assert header.sectionSize(column) >= column_width(tree, column) - 4, names[column]
    assert sum(header.sectionSize(c) for c in shown) <= tree.viewport().width() + 1
    return [names[c] for c in shown]


@pytest.mark.parametrize("size", SIZES, ids=size_name)
def test_columns_tags_and_status_fit(dark_theme, qtbot, tmp_path: Path, lidc_dir: Path,  # noqa: ANN001, F811
                                     output_dir: Path, size: tuple[int, int]) -> None:
    window = open_reading_window(qtbot, tmp_path, lidc_dir)  # with a stored, flagged finding
    try:
        resize(qtbot, window, size)
        qtbot.waitUntil(lambda: hasattr(window, "tags") and window.tags.browser.tree.topLevelItemCount() > 0)
        dock(window, "Tags").raise_()
        window.status_label.setText(LONG_STATUS)
        browser = window.browser
        qtbot.waitUntil(lambda: "AI" in header_names(browser))
        browser.column_fit.fit()
        QApplication.processEvents()
        shown = assert_columns_whole(browser)
        assert "Modality" in shown and shown.index("Modality") == 1  # the most useful column first
        tree = window.tags.browser.tree
        value = header_names(tree).index("Value")
        assert not tree.isColumnHidden(value)
        assert tree.header().sectionSize(value) >= 0.4 * tree.viewport().width()
        label = window.status_label
        qtbot.waitUntil(lambda: label.height() >= label.heightForWidth(label.width()))
        assert label.visibleRegion().boundingRect() == label.rect()  # every line of it on screen
        save(grab_screen(window), output_dir, f"screen-collisions-lidc-{size_name(size)}.png")
    finally:
        window.close()


def test_empty_histogram_shows_no_axis(dark_theme, qtbot, tmp_path: Path, lidc_dir: Path,  # noqa: ANN001, F811
                                       output_dir: Path) -> None:
    window = MainWindow(QSettings(str(tmp_path / "radsight.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    qtbot.waitExposed(window)
    try:
        qtbot.waitUntil(lambda: hasattr(window, "plots"))
        histogram = window.plots.histogram
        dock(window, "Histogram").raise_()
        QApplication.processEvents()
        plot = histogram.getPlotItem()
        assert histogram.is_empty and histogram.empty_text.toPlainText() == EMPTY_TEXT
        assert not plot.getAxis("bottom").isVisible() and not plot.getAxis("left").isVisible()
        pixels = to_array(histogram.grab().toImage())
        save(histogram.grab().toImage(), output_dir, "screen-collisions-histogram-empty.png")
        region = np.abs(pixels.astype(int) - [255, 200, 0]).sum(axis=-1) < 40
        assert region.sum() == 0  # no W/L region drawn over nothing
        window.open_path(lidc_dir)
        qtbot.waitUntil(lambda: window.result is not None and not window.is_loading(), timeout=60_000)
        qtbot.waitUntil(lambda: not histogram.is_empty)
        assert plot.getAxis("bottom").isVisible()
        # the histogram follows the slices as they land: once all are in, the axis spans the CT's
        # own values (air to bone), not a default axis
        qtbot.waitUntil(lambda: plot.getAxis("bottom").range[0] < -900
                        and plot.getAxis("bottom").range[1] > 1000, timeout=20_000)
    finally:
        window.close()


def open_radiograph(qtbot, tmp_path: Path, path: Path, size: tuple[int, int]) -> MainWindow:  # noqa: ANN001
    settings = QSettings(str(tmp_path / "radsight.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings)
    qtbot.addWidget(window)
    window.resize(*size)
    window.show()
    qtbot.waitExposed(window)
    window.open_path(path)
    qtbot.waitUntil(lambda: window.result is not None and not window.is_loading(), timeout=60_000)
    return window


def analyze(qtbot, window: MainWindow) -> list[tuple[str, float]]:  # noqa: ANN001
    window.analyze_action.trigger()
    qtbot.waitUntil(lambda: not window.ai.running and window.ai.summary is not None,
                    timeout=ANALYSIS_TIMEOUT_MS)
    return sorted((f.id, f.score) for f in window.ai.overlay.findings)


@pytest.mark.parametrize("size", SIZES, ids=size_name)
def test_radiograph_labels_browser_and_map_selector(dark_theme, qtbot, tmp_path: Path,  # noqa: ANN001, F811
                                                    shared_data: Path, output_dir: Path,
                                                    size: tuple[int, int]) -> None:
    require_model("fracture-radiograph")
    window = open_radiograph(qtbot, tmp_path, fracatlas_image(shared_data), size)
    try:
        [row] = window.browser.series_items()
        assert row.text(2) == "OT"
        declare(window, "DX")
        assert row.text(2) == "DX (declared)" and row.parent().text(2) == "DX (declared)"
        findings = analyze(qtbot, window)
        assert findings, "the fracture model found nothing to label on this radiograph"
        view = window.grid.views[ViewKind.AXIAL]
        overlay = window.ai.overlay
        shot = grab_screen(view)
        placed = list(overlay.labels.placed)
        overlay.set_boxes_visible(False)
        bare = to_array(grab_screen(view)).max(axis=-1)  # the image without boxes and labels
        overlay.set_boxes_visible(True)
        save(shot, output_dir, f"screen-collisions-fracatlas-labels-{size_name(size)}.png")
        save(grab_screen(window), output_dir, f"screen-collisions-fracatlas-{size_name(size)}.png")
        assert len(placed) >= 1
        for n, (text, (x, y, w, h)) in enumerate(placed):
            under = bare[max(int(y), 0):int(y + h), max(int(x), 0):int(x + w)]
            assert under.size and (under >= 245).sum() == 0, text  # no burned-in (white) marker
            assert (under > 170).mean() < 0.15, (text, (under > 170).mean())  # little bone or cast
            for _, other in placed[n + 1:]:
                assert intersection((x, y, w, h), other) == 0
        window.ai.show_docks()
        combo = window.ai.controls.map_choice
        qtbot.waitUntil(combo.isVisible)
        assert combo.count() > 1  # the whole image and each finding's own map
        widest = max(QFontMetrics(combo.font()).horizontalAdvance(combo.itemText(i))
                     for i in range(combo.count()))
        assert combo.width() >= widest + 20  # the longest name whole, beside the arrow
        window.ai.kind_actions[None].trigger()  # "Not declared" again
        assert row.text(2) == "OT"
    finally:
        window.close()
