"""Overlay controls drive the real overlay (and follow it) with the real mouse and keyboard."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from ai.findings import Finding
from viewer.ui.heatmap_overlay import AIOverlay
from viewer.ui.overlay_controls import WHOLE_IMAGE_TEXT, OverlayControls


def test_controls_and_overlay_stay_in_step(qtbot) -> None:  # noqa: ANN001
    overlay = AIOverlay()
    finding = Finding("m", "1", "nodule", 0.9, True, explanation="m/nodule")
    overlay.set_results([finding], {"m/nodule": np.zeros((2, 4, 4), np.float32),
                                    "m/other": np.zeros((2, 4, 4), np.float32)})
    controls = OverlayControls(overlay)
    qtbot.addWidget(controls)
    controls.show()
    assert controls.opacity.value() == 50 and controls.heat.isChecked()
    assert [controls.map_choice.itemText(i) for i in range(3)] == [WHOLE_IMAGE_TEXT, "m/nodule", "m/other"]
    controls.opacity.setFocus()
    QTest.keyClick(controls.opacity, Qt.Key.Key_End)
    assert overlay.opacity == 1.0
    QTest.keyClick(controls.opacity, Qt.Key.Key_Home)
    assert overlay.opacity == 0.0
    QTest.mouseClick(controls.heat, Qt.MouseButton.LeftButton)
    assert not overlay.heat_visible
    overlay.toggle_heat()  # e.g. the H shortcut
    assert controls.heat.isChecked()
    controls.map_choice.setCurrentIndex(2)
    assert overlay.map_key == "m/other"
    overlay.select_finding(finding)  # a click in the findings panel shows that finding's map
    assert controls.map_choice.currentText() == "m/nodule"
    QTest.mouseClick(controls.boxes, Qt.MouseButton.LeftButton)
    assert not overlay.boxes_visible
