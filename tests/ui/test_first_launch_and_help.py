"""First launch and the Help menu, as a person sees them (pytest-qt under Xvfb).

First launch opens the bundled sample, runs the AI on it and shows "How to read this"; the
nodule's box is on the screen in the operating-point colour; the next launch opens the sample
without re-running the AI. Help › Keyboard shortcuts, Model cards and About show what they say.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication, QDockWidget, QMessageBox, QTextBrowser

from viewer.core.map_planes import box_on_plane
from viewer.core.view_state import ViewKind
from viewer.ui.app import resources_dir
from viewer.ui.first_launch import SETTING, open_at_start
from viewer.ui.heatmap_overlay import PASS_COLOUR
from viewer.ui.help_dialogs import ModelCardsDialog, TextDialog
from viewer.ui.main_window import MainWindow

from .viewer_helpers import grab_screen, save, to_array, view_point

pytestmark = pytest.mark.gui
SAMPLE = resources_dir() / "sample"


def new_window(qtbot, settings_file: Path) -> MainWindow:  # noqa: ANN001
    window = MainWindow(QSettings(str(settings_file), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    window.resize(1280, 900)
    window.show()
    qtbot.waitExposed(window)
    return window


def box_border_is_drawn(window: MainWindow, pixels: np.ndarray) -> float:
    """Pixels in the pass colour near the top finding's box outline, per pixel of its perimeter."""
    view = window.grid.views[ViewKind.AXIAL]
    finding = window.findings_panel.visible_findings()[0]
    r0, c0, r1, c1 = box_on_plane(finding.box_kji, view.geometry, (view.slice_index, view.slice_index + 1))
    top_left, bottom_right = view_point(view, r0, c0), view_point(view, r1, c1)
    x0, y0, x1, y1 = top_left.x(), top_left.y(), bottom_right.x(), bottom_right.y()
    band = np.zeros(pixels.shape[:2], bool)
    band[y0 - 2:y1 + 3, x0 - 2:x1 + 3] = True
    band[y0 + 3:y1 - 2, x0 + 3:x1 - 2] = False
    target = np.array([PASS_COLOUR.red(), PASS_COLOUR.green(), PASS_COLOUR.blue()])
    close = np.abs(pixels.astype(int) - target).max(axis=2) < 40
    return float(close[band].sum()) / (2 * (x1 - x0 + y1 - y0))


def test_first_launch_shows_the_sample_with_its_findings_then_not_again(qtbot, tmp_path: Path,  # noqa: ANN001
                                                                         output_dir: Path) -> None:
    window = new_window(qtbot, tmp_path / "radsight.ini")
    first = open_at_start(window, None, SAMPLE)
    assert first is not None and window.settings.value(SETTING, False, type=bool)
    dock = window.findChild(QDockWidget, "dock-how-to-read")
    assert dock is not None and dock.isVisible()
    assert "not for diagnostic use" in dock.widget().toPlainText()
    qtbot.waitUntil(lambda: first.analysis_started, timeout=120_000)
    qtbot.waitUntil(lambda: not window.ai.running and window.ai.summary is not None, timeout=600_000)
    findings = window.findings_panel.visible_findings()
    assert findings and findings[0].model == "nodule-ct" and findings[0].passes_operating_point
    view = window.grid.views[ViewKind.AXIAL]
    view.set_slice(int(round(findings[0].center_kji[0])))
    QApplication.processEvents()
    shot = grab_screen(view)
    save(grab_screen(window), output_dir, "first_launch_window.png")
    save(shot, output_dir, "first_launch_axial.png")
    assert box_border_is_drawn(window, to_array(shot)) > 0.7
    window.close()

    again = new_window(qtbot, tmp_path / "radsight.ini")
    assert open_at_start(again, None, SAMPLE) is None  # not the first launch: no AI run, no panel
    qtbot.waitUntil(lambda: again.result is not None and not again.is_loading(), timeout=60_000)
    assert not again.ai.running and again.findChild(QDockWidget, "dock-how-to-read") is None
    again.close()


def visible(window: MainWindow, kind: type) -> list:
    QApplication.processEvents()
    return [w for w in QApplication.topLevelWidgets() if isinstance(w, kind) and w.isVisible()] + \
        [w for w in window.findChildren(kind) if w.isVisible()]


def test_help_menu_shortcuts_model_cards_and_about(qtbot, tmp_path: Path, output_dir: Path) -> None:  # noqa: ANN001
    window = new_window(qtbot, tmp_path / "radsight.ini")
    window.help_actions["Keyboard shortcuts"].trigger()
    shortcuts = visible(window, TextDialog)[0]
    text = shortcuts.browser.toPlainText()
    assert "Analyze" in text and "Ctrl+A" in text and "Page Up" in text and "F1" in text
    save(shortcuts.grab().toImage(), output_dir, "help_shortcuts.png")
    shortcuts.close()

    window.help_actions["Model cards"].trigger()
    cards = next(d for d in visible(window, ModelCardsDialog))
    names = [cards.list.item(n).text() for n in range(cards.list.count())]
    assert {"nodule-ct", "fracture-radiograph", "tumour-mri"} <= set(names)
    cards.list.setCurrentRow(names.index("tumour-mri"))
    assert "tumour" in cards.browser.toPlainText().lower()
    assert "diagnostic" in cards.browser.toPlainText().lower()
    save(cards.grab().toImage(), output_dir, "help_model_cards.png")
    cards.close()

    window.help_actions["About RadSight"].trigger()
    box = visible(window, QMessageBox)[0]
    assert "Not for diagnostic use" in box.windowTitle()
    about = window.about_text()
    for needed in ("NOT FOR DIAGNOSTIC USE", "CC BY 4.0", "FracAtlas", "LIDC-IDRI", "licence", "Model cards"):
        assert needed in about, needed
    box.close()
    window.help_actions["How to read this"].trigger()
    assert window.findChild(QDockWidget, "dock-how-to-read").isVisible()
    assert window.findChild(QDockWidget, "dock-how-to-read").findChild(QTextBrowser) is not None
    window.close()
