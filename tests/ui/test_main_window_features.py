"""Main-window features on real data: progressive loading, recent studies, drag-and-drop, layouts,
readable loader errors, cine, slabs, zoom/pan, About."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QMimeData, QObject, QPoint, QPointF, QSettings, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QMessageBox

from viewer.commands.view import sample_study
from viewer.core.reslice import extract_slab
from viewer.core.view_state import Tool, ViewKind
from viewer.ui.main_window import MainWindow
from viewer.ui.slice_annotations import corner_lines

from .viewer_helpers import drag, grab_screen, open_window, save, view_point

pytestmark = pytest.mark.gui


@pytest.fixture()
def sample() -> Path:
    path = sample_study()
    if not path.is_dir():
        pytest.skip(f"bundled sample study not found at {path}")
    return path


def bare_window(qtbot: object, tmp_path: Path) -> MainWindow:
    window = MainWindow(QSettings(str(tmp_path / "radsight.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window


def wait_loaded(qtbot: object, window: MainWindow) -> None:
    qtbot.waitUntil(lambda: window.model.complete and not window.is_loading(), timeout=60_000)


class PaintSpy(QObject):
    """Counts the view's paints that happen while the series is still being read."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__()
        self.window, self.while_loading = window, 0

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802
        model = self.window.model
        if event.type() == QEvent.Type.Paint and model.volume is not None and not model.complete:
            self.while_loading += 1
        return False


def test_sample_opens_progressively_and_is_remembered(qtbot, tmp_path, sample, output_dir) -> None:
    window = bare_window(qtbot, tmp_path)
    assert "Not for diagnostic use" in window.windowTitle()
    states: list[bool] = []
    window.model.volume_changed.connect(lambda: states.append(window.model.complete))
    spy = PaintSpy(window)
    window.grid.views[ViewKind.AXIAL].installEventFilter(spy)
    window.open_path(sample)
    wait_loaded(qtbot, window)
    assert states[0] is False and states[-1] is True  # shown before all slices were read
    assert spy.while_loading >= 1
    assert window.model.volume.shape == (47, 512, 512)
    axial = window.grid.views[ViewKind.AXIAL]
    assert window.focusWidget() is axial  # (the window itself may be inactive under Xvfb)
    qtbot.keyClick(axial, Qt.Key.Key_1)  # presets work straight after opening
    assert window.model.window.name == "lung"
    assert window.recent_paths()[0] == str(sample.resolve())
    assert [a.text() for a in window.recent_menu.actions()] == [str(sample.resolve())]
    rows = window.browser.series_items()
    assert len(rows) == 1 and rows[0].text(4) == "47"
    save(grab_screen(window), output_dir, "sample_study_main_window.png")

    series = window.series
    window.load_series(series)
    window.load_series(series)  # the first is cancelled: silently
    wait_loaded(qtbot, window)
    assert window.last_error == "" and not [b for b in window.findChildren(QMessageBox) if b.isVisible()]

    window.model.set_slice(0, 3)
    window.browser.scrollToItem(rows[0])
    rect = window.browser.visualItemRect(rows[0])
    point = QPoint(rect.left() + 10, rect.center().y())  # on the series title (the dock is narrow)
    qtbot.mouseClick(window.browser.viewport(), Qt.MouseButton.LeftButton, pos=point)  # select,
    qtbot.mouseDClick(window.browser.viewport(), Qt.MouseButton.LeftButton, pos=point)  # then open
    qtbot.waitUntil(lambda: window.model.cursor[0] == 23, timeout=10_000)  # reloaded: middle slice
    wait_loaded(qtbot, window)


def test_drop_a_folder_opens_it(qtbot, tmp_path, dicom_data) -> None:
    folder = dicom_data / "ge-brain-mr-20" / "series"
    if not folder.is_dir():
        pytest.skip(f"{folder} not found")
    window = bare_window(qtbot, tmp_path)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(folder))])
    centre = QPoint(window.width() // 2, window.height() // 2)
    enter = QDragEnterEvent(centre, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted()
    drop = QDropEvent(QPointF(centre), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, drop)
    wait_loaded(qtbot, window)
    assert window.model.volume.modality == "MR" and window.model.volume.shape[0] == 20
    assert window.recent_paths()[0] == str(folder.resolve())


def test_loader_errors_are_readable_messages(qtbot, tmp_path) -> None:
    junk = tmp_path / "not-images"
    junk.mkdir()
    (junk / "scan.dcm").write_bytes(b"\x00" * 128 + b"DICM" + np.random.default_rng(0).bytes(300))
    (junk / "notes.txt").write_text("hello")
    window = bare_window(qtbot, tmp_path)
    window.open_path(junk)
    qtbot.waitUntil(lambda: bool(window.last_error), timeout=30_000)
    assert "Traceback" not in window.last_error and "\n" not in window.last_error
    assert "No image found" in window.last_error
    boxes = [b for b in window.findChildren(QMessageBox) if b.isVisible()]
    assert boxes and boxes[0].text() == window.last_error  # shown, but never blocking
    window.open_path(tmp_path / "missing")
    qtbot.waitUntil(lambda: "missing" in window.last_error, timeout=10_000)
    assert window.status_label.text() == window.last_error


def test_layouts_cine_slab_zoom_pan(qtbot, tmp_path, sample, output_dir) -> None:
    window = open_window(qtbot, tmp_path, sample)
    views = window.grid.views
    window.layout_actions["1x2"].trigger()
    QApplication.processEvents()
    assert [v.state.kind for v in window.grid.visible_views()] == [ViewKind.AXIAL, ViewKind.CORONAL]
    window.layout_actions["1x1"].trigger()
    QApplication.processEvents()
    axial = views[ViewKind.AXIAL]
    assert window.grid.visible_views() == [axial] and not window.model.show_crosshair

    start = axial.slice_index
    qtbot.keyClick(axial, Qt.Key.Key_C)
    qtbot.waitUntil(lambda: axial.slice_index != start, timeout=3_000)
    qtbot.keyClick(axial, Qt.Key.Key_C)
    stopped = axial.slice_index
    assert not axial._cine.isActive(), "C again stops the cine timer"
    QApplication.processEvents()
    assert axial.slice_index == stopped

    window.slab_mm.setValue(9)
    window.slab_box.setCurrentText("MIP")
    slab = axial.plane()
    expected = extract_slab(window.model.volume, "axial", axial.slice_index, 9, "mip")
    assert np.array_equal(slab, expected)
    assert "MIP 9 mm" in corner_lines(axial)["bottom_right"]
    save(grab_screen(axial), output_dir, "sample_axial_mip_9mm.png")
    window.slab_box.setCurrentText("Single slice")
    assert (slab >= axial.plane()).all() and (slab > axial.plane()).any()

    centre = QPoint(axial.width() // 2, axial.height() // 2)
    drag(qtbot, axial, centre, centre - QPoint(0, 100), button=Qt.MouseButton.RightButton)
    assert axial.state.zoom > 1.5  # right-drag up zooms in
    drag(qtbot, axial, centre, centre + QPoint(40, 30), button=Qt.MouseButton.MiddleButton)
    assert axial.state.pan == pytest.approx((40, 30), abs=1)
    qtbot.keyClick(axial, Qt.Key.Key_R)
    assert axial.state.zoom == 1.0 and axial.state.pan == (0.0, 0.0)


def test_about_box_names_sources_and_licences(qtbot, tmp_path) -> None:
    window = bare_window(qtbot, tmp_path)
    text = window.about_text()
    for needed in ("NOT FOR DIAGNOSTIC USE", "LIDC-IDRI", "CC BY 3.0", "FracAtlas", "CC BY 4.0", "BSD-2"):
        assert needed in text
    window.show_about()
    boxes = [b for b in window.findChildren(QMessageBox) if b.isVisible()]
    assert boxes and "Not for diagnostic use" in boxes[0].windowTitle()
    boxes[0].close()


def test_angle_rectangle_and_home_end(qtbot, tmp_path, sample) -> None:
    window = open_window(qtbot, tmp_path, sample)
    axial = window.grid.views[ViewKind.AXIAL]
    qtbot.keyClick(axial, Qt.Key.Key_Home)
    assert axial.slice_index == 0
    qtbot.keyClick(axial, Qt.Key.Key_End)
    assert axial.slice_index == axial.n_slices - 1
    window.tool_actions[Tool.ANGLE].trigger()
    for row, col in ((200, 300), (300, 300), (300, 420)):  # three clicks: arm, vertex, arm
        qtbot.mouseClick(axial, Qt.MouseButton.LeftButton, pos=view_point(axial, row, col))
    window.tool_actions[Tool.RECTANGLE].trigger()
    drag(qtbot, axial, view_point(axial, 100, 100), view_point(axial, 140, 180))
    angle, rectangle = list(window.model.measurements)
    assert angle.kind == "angle" and abs(angle.result.degrees - 90) < 1.5
    spacing = window.model.volume.spacing
    assert rectangle.kind == "rectangle"
    assert rectangle.result.area == pytest.approx(40 * 80 * spacing[1] * spacing[2], rel=0.06)
    assert rectangle.result.pixel_count == pytest.approx(41 * 81, rel=0.06)


def test_mouse_buttons_are_configurable(qtbot, tmp_path, sample) -> None:
    settings = QSettings(str(tmp_path / "radsight.ini"), QSettings.Format.IniFormat)
    settings.setValue("mouse/right", "window")  # a reader who wants W/L on the right button
    settings.setValue("mouse/left", "bogus")  # ignored: falls back to the default
    settings.sync()
    window = open_window(qtbot, tmp_path, sample)
    axial = window.grid.views[ViewKind.AXIAL]
    assert axial.button_actions == {"left": "tool", "right": "window", "middle": "pan"}
    before = window.model.window
    centre = QPoint(axial.width() // 2, axial.height() // 2)
    drag(qtbot, axial, centre, centre + QPoint(100, 0), button=Qt.MouseButton.RightButton)
    assert window.model.window.width > before.width and axial.state.zoom == 1.0
