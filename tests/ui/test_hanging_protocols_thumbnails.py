"""Hanging protocols edited in View › Hanging protocols…, stored in the (private) settings and applied
when LIDC-0314 opens; series thumbnails in the study browser; the 3D pane of the 2×2 layout (body
filling it, cube, no table). Screenshots at 1280×800 and 1920×1080 go to test-output/."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication, QDialogButtonBox

from viewer.core.hanging_protocols import DEFAULT_PROTOCOLS
from viewer.ui.hanging_protocol_apply import SETTINGS_KEY, load_protocols
from viewer.ui.main_window import MainWindow
from viewer.ui.orientation_cube import LETTER_RGB

from .viewer_helpers import grab_screen, save, to_array


def new_window(qtbot, settings: QSettings, size: tuple[int, int]) -> MainWindow:  # noqa: ANN001
    window = MainWindow(settings)
    qtbot.addWidget(window)
    window.resize(*size)
    window.show()
    qtbot.waitExposed(window)
    return window


def open_and_wait(qtbot, window: MainWindow, path: Path) -> None:  # noqa: ANN001
    window.open_path(path)
    qtbot.waitUntil(lambda: window.result is not None and not window.is_loading(), timeout=120_000)


def edit_first_row(dialog: object, layout: str, window: str, slab: str, mm: float) -> None:
    table = dialog.table
    for column, value in ((3, layout), (4, window), (5, slab)):
        box = table.cellWidget(0, column)
        box.setCurrentIndex(box.findData(value))
    table.cellWidget(0, 6).setValue(mm)


def test_protocol_edited_in_the_dialog_is_stored_and_applied_on_open(  # noqa: ANN001
        qtbot, tmp_path: Path, lidc_dir: Path, output_dir: Path) -> None:
    settings = QSettings(str(tmp_path / "radsight.ini"), QSettings.Format.IniFormat)
    window = new_window(qtbot, settings, (1280, 800))
    assert load_protocols(settings) == [], "nothing is applied before the reader saves protocols"
    dialog = window.hanging.edit()
    qtbot.waitExposed(dialog)
    assert dialog.protocols() == list(DEFAULT_PROTOCOLS), "the editor proposes the defaults"
    edit_first_row(dialog, "1x2", "mediastinum", "mip", 15.0)  # the chest CT row
    save(dialog.grab().toImage(), output_dir, "hanging_protocols_dialog.png")
    dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok).click()
    stored = QSettings(str(tmp_path / "radsight.ini"), QSettings.Format.IniFormat)
    assert stored.contains(SETTINGS_KEY)
    chest = load_protocols(stored)[0]
    assert (chest.name, chest.layout, chest.window, chest.slab_mode, chest.slab_mm) == (
        "Chest CT", "1x2", "mediastinum", "mip", 15.0)
    open_and_wait(qtbot, window, lidc_dir)
    assert window.hanging.last_applied == chest, "LIDC-0314 (BodyPartExamined CHEST) gets the chest CT row"
    assert window.grid.layout_name == "1x2" and window.layout_actions["1x2"].isChecked()
    assert window.model.window.name == "mediastinum"
    assert window.preset_box.currentText().startswith("2: mediastinum")
    assert window.model.slab_mode == "mip" and window.model.slab_mm == 15.0
    assert window.slab_box.currentText() == "MIP" and window.slab_mm.isEnabled()


def test_protocol_with_no_match_leaves_the_display_alone(qtbot, tmp_path: Path, lidc_dir: Path) -> None:  # noqa: ANN001
    settings = QSettings(str(tmp_path / "radsight.ini"), QSettings.Format.IniFormat)
    settings.setValue(SETTINGS_KEY, '[{"name": "MR only", "modality": "MR", "layout": "2x2"}]')
    window = new_window(qtbot, settings, (1280, 800))
    open_and_wait(qtbot, window, lidc_dir)
    assert window.hanging.last_applied is None and window.grid.layout_name == "1x1"
    assert window.model.slab_mode is None


def thumbnail_pixels(window: MainWindow) -> np.ndarray:
    item = window.browser.series_items()[0]
    pixmap = item.icon(0).pixmap(window.browser.iconSize())
    return to_array(pixmap.toImage())


def cube_letter_pixels(rgb: np.ndarray, letter: str) -> int:
    target = np.array(LETTER_RGB[letter]) * 255
    return int((np.abs(rgb.astype(float) - target).max(axis=-1) < 12).sum())


def test_chest_ct_reading_screen(qtbot, tmp_path: Path, lidc_dir: Path, output_dir: Path) -> None:  # noqa: ANN001
    """Suggested protocols saved as they are: LIDC-0314 opens in 2×2, lung window, lung 3D; the
    browser shows its thumbnail; the 3D pane is filled, with the cube. Both screen sizes."""
    settings = QSettings(str(tmp_path / "radsight.ini"), QSettings.Format.IniFormat)
    settings.setValue(SETTINGS_KEY, "")  # replaced below by the defaults, as OK in the editor does
    from viewer.ui.hanging_protocol_apply import save_protocols

    save_protocols(settings, list(DEFAULT_PROTOCOLS))
    window = new_window(qtbot, settings, (1280, 800))
    ready: list[object] = []
    window.grid.view_3d_ready.connect(ready.append)
    open_and_wait(qtbot, window, lidc_dir)
    assert window.hanging.last_applied.name == "Chest CT"
    assert window.grid.layout_name == "2x2" and window.model.window.name == "lung"
    qtbot.waitUntil(lambda: bool(ready), timeout=180_000)
    view = window.grid.view_3d
    assert view.scene.preset.name == "lung" and view.presets.currentText() == "lung"
    qtbot.waitUntil(lambda: window.thumbnails.done, timeout=60_000)
    thumb = thumbnail_pixels(window)
    assert thumb.shape[0] >= 40 and thumb.std() > 20, "the thumbnail shows an image, not a flat patch"
    middle = thumb.shape[0] // 2
    assert thumb[middle, thumb.shape[1] // 4].max() < thumb[middle, thumb.shape[1] // 2].max() - 60, (
        "the lung is darker than the mediastinum")
    for size in ((1280, 800), (1920, 1080)):
        window.resize(*size)
        QApplication.processEvents()
        view.scene.render()
        rgb = view.grab_array()
        save(grab_screen(window), output_dir, f"reading_3d_lidc_{size[0]}x{size[1]}.png")
        left, bottom, side = view.scene.cube.pane_px()
        shown = rgb.copy()
        shown[rgb.shape[0] - bottom - side:rgb.shape[0] - bottom, left:left + side] = 0
        rows, cols = np.nonzero(shown.max(axis=-1) > 25)
        fill = max((cols.max() - cols.min()) / rgb.shape[1], (rows.max() - rows.min()) / rgb.shape[0])
        assert fill > 0.6, f"the lungs take {fill:.0%} of the 3D pane at {size}"
        assert cube_letter_pixels(rgb, "A") > 30, "the cube shows A from the front"
    view.set_preset("bone")
    rgb = view.grab_array()
    save(grab_screen(window), output_dir, "reading_3d_lidc_bone_1920x1080.png")
    rows, cols = np.nonzero(rgb.max(axis=-1) > 25)
    assert (cols.max() - cols.min()) / rgb.shape[1] > 0.7, "the chest fills the pane"
