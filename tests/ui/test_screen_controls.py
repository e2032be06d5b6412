"""The screen in the app's dark theme (LIDC-0314 with a stored marked finding):

* safety text is readable: the "NOT FOR DIAGNOSTIC USE" banner and the red "marked" operating-point
  text reach a WCAG contrast ratio ≥ 4.5:1, computed from the pixels on screen;
* controls show their state: a disabled Cancel looks disabled next to Analyze (from pixels), the
  preset box names the DICOM window and returns to it, the slab thickness is off in single-slice mode.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication, QLabel, QToolBar

from viewer.ui.ai_reading import DISCLAIMER_TEXT
from viewer.ui.app import create_app

from .test_reading_report import open_reading_window
from .viewer_helpers import save, to_array

pytestmark = pytest.mark.gui


def luminance(rgb: np.ndarray) -> np.ndarray:
    """WCAG relative luminance of sRGB pixels (..., 3) uint8."""
    c = rgb.astype(float) / 255.0
    lin = np.where(c <= 0.03928, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return lin @ np.array([0.2126, 0.7152, 0.0722])


def text_contrast(pixels: np.ndarray) -> float:
    """Contrast between the background (the commonest colour) and the text's core (the pixel that
    differs most from it in luminance)."""
    flat = pixels.reshape(-1, 3)
    colours, counts = np.unique(flat, axis=0, return_counts=True)
    background = luminance(colours[counts.argmax()])
    values = luminance(flat)
    text = values[np.abs(values - background).argmax()]
    high, low = max(text, background), min(text, background)
    return float((high + 0.05) / (low + 0.05))


@pytest.fixture
def dark_theme():  # noqa: ANN201
    """The app's own style and dark palette, restored afterwards for the other tests."""
    app = QApplication.instance()
    palette, style = app.palette(), app.style().name()
    create_app()
    yield
    app.setStyle(style)
    app.setPalette(palette)


def test_safety_text_contrast_at_least_4_5(dark_theme, qtbot, tmp_path: Path, lidc_dir: Path,  # noqa: ANN001
                                           output_dir: Path) -> None:
    window = open_reading_window(qtbot, tmp_path, lidc_dir)
    try:
        window.ai.show_docks()
        qtbot.waitUntil(lambda: window.findings_panel.table.rowCount() == 1)
        banner = next(label for label in window.findChildren(QLabel) if label.text() == DISCLAIMER_TEXT
                      and label.isVisible())
        banner_image = banner.grab().toImage()
        save(banner_image, output_dir, "reading-room-disclaimer-dark.png")
        assert text_contrast(to_array(banner_image)) >= 4.5
        table = window.findings_panel.table
        cell = table.visualItemRect(table.item(0, 2))
        shot = table.viewport().grab(cell).toImage()
        save(shot, output_dir, "reading-room-marked-cell-dark.png")
        assert table.item(0, 2).text().startswith("marked")
        assert text_contrast(to_array(shot)) >= 4.5
        save(window.grab().toImage(), output_dir, "reading-room-dark-1280x800.png")
    finally:
        window.close()


def button_text_luminance(toolbar: QToolBar, action: QAction) -> float:
    """The brightest text pixel's luminance on the action's toolbar button."""
    pixels = to_array(toolbar.widgetForAction(action).grab().toImage())
    return float(luminance(pixels.reshape(-1, 3)).max())


def test_controls_show_their_state(dark_theme, qtbot, tmp_path: Path, lidc_dir: Path,  # noqa: ANN001
                                   output_dir: Path) -> None:
    window = open_reading_window(qtbot, tmp_path, lidc_dir)
    try:
        toolbar = window.findChild(QToolBar, "toolbar-main")
        assert window.analyze_action.isEnabled() and not window.cancel_analysis_action.isEnabled()
        enabled = button_text_luminance(toolbar, window.analyze_action)
        disabled = button_text_luminance(toolbar, window.cancel_analysis_action)
        assert (enabled + 0.05) / (disabled + 0.05) > 2.0, (enabled, disabled)  # Cancel looks off
        # the preset box names the DICOM window on opening, and returns to it after a preset
        box = window.preset_box
        assert box.currentText() == "6: from DICOM (2000/-450)"
        box.setCurrentIndex(0)
        box.activated.emit(0)
        assert window.model.window.name == "lung" and box.currentText().startswith("1: lung")
        box.setCurrentIndex(5)
        box.activated.emit(5)
        assert window.model.window.name == "from DICOM"
        # the slab thickness only when there is a slab
        assert window.slab_box.currentText() == "Single slice" and not window.slab_mm.isEnabled()
        window.slab_box.setCurrentText("MIP")
        assert window.slab_mm.isEnabled() and window.model.slab_mode == "mip"
        window.slab_box.setCurrentText("Single slice")
        assert not window.slab_mm.isEnabled()
        save(toolbar.grab().toImage(), output_dir, "reading-room-toolbar-dark.png")
    finally:
        window.close()
