"""Key images and File › Report in the real window (pytest-qt under Xvfb), LIDC-0314.

K marks the axial slice on screen as key: a yellow "KEY IMAGE" badge appears on that slice only,
the Key images panel lists it; File › Report… writes the HTML with the key image, the measurement
drawn, the stored finding with the reader's verdict (real SQLite feedback store), and a PDF
printed from the same HTML through Qt. Screenshots at 1280×800 and 1920×1080.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QImage
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QDockWidget, QFileDialog

from viewer.core.feedback_db import FeedbackDB
from viewer.core.view_state import Tool, ViewKind
from viewer.ui.key_images import BADGE_COLOUR
from viewer.ui.main_window import MainWindow
from viewer.ui.slice_annotations import corner_lines

from .test_report import assert_self_contained, parse, stored_verdict
from .viewer_helpers import grab_screen, read_label, save, to_array

pytestmark = pytest.mark.gui


def badge_pixels(window: MainWindow) -> int:
    view = window.grid.views[ViewKind.AXIAL]
    pixels = to_array(grab_screen(view))[:60]
    target = np.array([BADGE_COLOUR.red(), BADGE_COLOUR.green(), BADGE_COLOUR.blue()])
    return int((np.abs(pixels.astype(int) - target).sum(axis=-1) < 60).sum())


def open_reading_window(qtbot, tmp_path: Path, lidc_dir: Path) -> MainWindow:  # noqa: ANN001
    """LIDC-0314 open at 1280×800 with a stored finding the reader accepted (real SQLite store)."""
    db_path = tmp_path / "feedback.sqlite3"
    stored_verdict(db_path, lidc_dir, "accept", "agree")
    db = FeedbackDB(db_path)
    settings = QSettings(str(tmp_path / "radsight.ini"), QSettings.Format.IniFormat)
    win = MainWindow(settings, feedback_db=db)
    qtbot.addWidget(win)
    win.resize(1280, 800)
    win.show()
    qtbot.waitExposed(win)
    win.open_path(lidc_dir)
    qtbot.waitUntil(lambda: win.result is not None and not win.is_loading(), timeout=60_000)
    QApplication.processEvents()
    return win


@pytest.fixture
def window(qtbot, tmp_path: Path, lidc_dir: Path):  # noqa: ANN001, ANN201
    win = open_reading_window(qtbot, tmp_path, lidc_dir)
    yield win
    win.close()


def test_key_image_badge_list_and_report(window: MainWindow, qtbot, tmp_path: Path, output_dir: Path,  # noqa: ANN001
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    view = window.grid.views[ViewKind.AXIAL]
    window.model.set_slice(0, 160)
    corners = corner_lines(view)  # LIDC has no name: its ID, sex; acquisition from the header
    assert corners["top_left"][:2] == ["LIDC-IDRI-0314 · F", "2000-01-01"]
    assert corners["top_right"][:3] == ["CT", "1.0 mm · 120 kVp · D", "Im: 161/275"]
    assert badge_pixels(window) == 0
    window.activateWindow()  # (window shortcuts need the active window; Xvfb has no window manager)
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5_000)
    view.setFocus()
    QTest.keyClick(view, Qt.Key.Key_K)
    qtbot.waitUntil(lambda: window.reading.keys.slices() == [160])
    assert badge_pixels(window) > 30
    assert read_label(to_array(grab_screen(view)), view, "top", "APRLSIH") == "A"  # not covered
    items = [window.reading.key_list.item(n).text() for n in range(window.reading.key_list.count())]
    assert items == ["Im 161/275"]
    window.model.set_slice(0, 100)
    assert badge_pixels(window) == 0  # the badge belongs to the key slice only
    window.model.measure(Tool.DISTANCE, ViewKind.AXIAL, 100, [(200.0, 200.0), (200.0, 260.0)],
                         view.plane())
    window.model.set_slice(0, 160)
    save(grab_screen(window), output_dir, "reading-room-key-image-1280x800.png")

    out = tmp_path / "report.html"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(out), ""))
    window.reading.report_action.trigger()
    assert window.status_label.text().startswith(f"Report written: {out}")
    report = parse(out)
    assert_self_contained(report)
    assert [alt for _, alt in report.images if alt.startswith("Key image")] == ["Key image: slice 161/275"]
    (measurement,) = report.table("measurements")
    assert measurement["Kind"] == "distance" and measurement["Slice"] == "101"
    assert measurement["Result"].endswith("mm")
    (finding,) = report.table("findings")
    assert (finding["Reader's verdict"], finding["Comment"]) == ("accept", "agree")

    pdf = tmp_path / "report.pdf"
    assert window.reading.write(pdf).startswith(f"Report written: {pdf}")
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 50_000  # images went in


def test_key_images_panel_at_1920x1080(window: MainWindow, output_dir: Path) -> None:
    window.resize(1920, 1080)
    dock = window.findChild(QDockWidget, "dock-key-images")
    assert dock is not None
    window.reading.keys.toggle(137)
    dock.raise_()
    QApplication.processEvents()
    assert window.reading.key_list.item(0).text() == "Im 138/275"
    save(grab_screen(window), output_dir, "reading-room-key-images-1920x1080.png")


def longest_run(mask: np.ndarray) -> int:
    """The longest horizontal run of True in any row (a box's top edge, not its label)."""
    best = 0
    for row in mask:
        padded = np.concatenate([[0], row.astype(np.int8), [0]])
        edges = np.flatnonzero(np.diff(padded))
        if edges.size:
            best = max(best, int((edges[1::2] - edges[::2]).max()))
    return best


def test_finding_click_zooms_to_the_finding(window: MainWindow, qtbot, output_dir: Path) -> None:  # noqa: ANN001
    from PySide6.QtTest import QTest

    from viewer.ui.heatmap_overlay import SELECTED_COLOUR

    view = window.grid.views[ViewKind.AXIAL]
    table = window.findings_panel.table
    qtbot.waitUntil(lambda: table.rowCount() == 1)
    window.ai.show_docks()
    QApplication.processEvents()
    zoom_before = view.state.zoom
    row_centre = table.visualItemRect(table.item(0, 0)).center()
    QTest.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=row_centre)
    qtbot.waitUntil(lambda: window.model.cursor[0] == 160)
    pixels = to_array(grab_screen(view))
    save(grab_screen(window), output_dir, "reading-room-finding-zoom-1280x800.png")
    target = np.array([SELECTED_COLOUR.red(), SELECTED_COLOUR.green(), SELECTED_COLOUR.blue()])
    cyan = np.abs(pixels.astype(int) - target).sum(axis=-1) < 40
    ys, xs = np.nonzero(cyan)
    assert view.state.zoom > zoom_before
    assert longest_run(cyan) >= 0.18 * min(view.width(), view.height())  # the box spans ~a fifth
    assert abs(xs.mean() - view.width() / 2) < 0.1 * view.width()  # and it is centred
    assert abs(ys.mean() - view.height() / 2) < 0.15 * view.height()


def test_findings_dock_leaves_the_image_its_room(window: MainWindow, qtbot, output_dir: Path) -> None:  # noqa: ANN001
    view = window.grid.views[ViewKind.AXIAL]
    qtbot.waitUntil(lambda: window.ai.findings_dock.isVisible())
    QApplication.processEvents()
    assert window.height() == 800
    assert window.ai.findings_dock.height() <= 0.35 * window.height()  # (its contents need ~260 px)
    assert view.height() >= 0.5 * window.height(), (view.width(), view.height())
    header = window.findings_panel.table.horizontalHeader()
    assert header.sectionSize(6) < header.sectionSize(5)  # Model no longer takes half the width
    save(grab_screen(window), output_dir, "reading-room-findings-dock-1280x800.png")


def test_scale_bar_is_as_long_as_it_says(window: MainWindow, output_dir: Path) -> None:
    from viewer.ui.scale_bar import SCALE_COLOUR, scale_bar

    view = window.grid.views[ViewKind.AXIAL]
    for zoom in (1.0, 3.0):
        view.state.zoom = zoom
        view.update()
        mm, length = scale_bar(view)
        pixels = to_array(grab_screen(view))
        target = np.array([SCALE_COLOUR.red(), SCALE_COLOUR.green(), SCALE_COLOUR.blue()])
        bar = np.abs(pixels.astype(int) - target).sum(axis=-1) < 60
        px_per_mm = view.transform().sx / view.geometry.pixel_spacing[1]  # LIDC: 0.7 mm pixels
        assert mm in (1, 2, 5, 10, 20, 50, 100) and abs(length - mm * px_per_mm) < 1e-6
        assert abs(longest_run(bar) - length) <= 3, (longest_run(bar), length)
        assert 0.08 * view.width() <= length <= 0.2 * view.width()
    save(grab_screen(window), output_dir, "reading-room-scale-bar-1280x800.png")


def test_screenshot_to_file_and_clipboard(window: MainWindow, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    view = window.grid.views[ViewKind.AXIAL]
    out = tmp_path / "view.png"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(out), ""))
    window.screenshots.save_action.trigger()
    assert window.status_label.text() == f"View saved: {out} ({view.width()}×{view.height()})"
    expected = to_array(view.render_image())
    assert np.array_equal(to_array(QImage(str(out))), expected)
    window.screenshots.copy_action.trigger()
    assert window.status_label.text() == "View copied to the clipboard"
    copied = QApplication.clipboard().image()
    assert not copied.isNull() and np.array_equal(to_array(copied), expected)


def test_cine_speed_is_set_for_every_view_and_remembered(window: MainWindow, qtbot, tmp_path: Path) -> None:  # noqa: ANN001
    view = window.grid.views[ViewKind.AXIAL]
    assert window.cine_speed_actions[15].isChecked() and view.cine_fps == 15
    window.cine_speed_actions[5].trigger()
    assert all(v.cine_fps == 5 for v in window.grid.views.values())
    view.toggle_cine()
    assert view._cine.isActive() and view._cine.interval() == 200
    window.cine_speed_actions[40].trigger()  # a running cine changes speed at once
    assert view._cine.interval() == 25
    view.toggle_cine()
    assert not view._cine.isActive()
    again = MainWindow(window.settings, feedback_db=FeedbackDB(tmp_path / "second.sqlite3"))
    qtbot.addWidget(again)
    assert again.cine_speed_actions[40].isChecked() and again.grid.current.cine_fps == 40
    again.close()
