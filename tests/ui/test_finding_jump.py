"""Jump to a finding and pick a missed finding with a real click, on a flipped synthetic grid."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from ai.findings import Finding
from viewer.core.feedback_db import FeedbackDB
from viewer.core.view_state import ViewerModel, ViewKind
from viewer.core.volume import Volume
from viewer.ui.finding_jump import MissedFindingPicker, jump_to_finding, point_at
from viewer.ui.findings_panel import FindingsPanel
from viewer.ui.slice_view import SliceView

from .viewer_helpers import view_point

SOPS = tuple(f"1.2.3.{k}" for k in range(20))


def volume() -> Volume:
    direction = np.array([[-1.0, 0, 0], [0, -1.0, 0], [0, 0, -1.0]])  # every axis flipped on screen
    return Volume(np.zeros((20, 30, 40), np.int16), (2.0, 0.8, 0.8), origin=(10.0, 20.0, 30.0),
                  direction=direction, modality="CT", sop_instance_uids=SOPS,
                  series_instance_uid="1.2.3", study_instance_uid="1.2")


def views(qtbot, vol: Volume) -> tuple[ViewerModel, list[SliceView]]:  # noqa: ANN001
    model = ViewerModel()
    model.set_volume(vol)
    made = []
    for kind in ViewKind:
        view = SliceView(model, kind)
        qtbot.addWidget(view)
        view.resize(300, 260)
        made.append(view)
    return model, made


def test_jump_centres_the_finding_in_every_view(qtbot) -> None:  # noqa: ANN001
    vol = volume()
    model, shown = views(qtbot, vol)
    finding = Finding("m", "1", "x", 0.9, True, center_kji=(4.0, 6.0, 35.0))
    assert jump_to_finding(model, shown, finding)
    assert list(model.cursor) == [4, 6, 35]
    for view in shown:
        row, col, sl = view.geometry.from_index(finding.center_kji)
        assert view.slice_index == round(sl)
        point = view_point(view, row, col)
        assert abs(point.x() - 150) <= 1 and abs(point.y() - 130) <= 1
    assert not jump_to_finding(model, shown, Finding("m", "1", "x", 0.1, False))


def test_click_adds_a_missed_finding_only_in_that_mode(qtbot, tmp_path: Path) -> None:  # noqa: ANN001
    vol = volume()
    model, shown = views(qtbot, vol)
    axial = shown[0]
    model.set_cursor((7, 15, 20))
    with FeedbackDB(tmp_path / "f.sqlite3") as db:
        panel = FindingsPanel(db)
        qtbot.addWidget(panel)
        MissedFindingPicker(panel, shown)
        row, col, _ = axial.geometry.from_index((7.0, 10.0, 30.0))
        target = view_point(axial, row, col)
        window = model.window
        QTest.mouseClick(axial, Qt.MouseButton.LeftButton, pos=target)  # mode off: the view's tool
        assert db.missed_findings() == []
        panel.set_missed_mode(True)
        QTest.mouseClick(axial, Qt.MouseButton.LeftButton, pos=target)
        [missed] = db.missed_findings("1.2.3")
        assert np.allclose(missed.center_kji, (7.0, 10.0, 30.0), atol=0.5)
        assert missed.sop_instance_uid == SOPS[7] and missed.label == "nodule"
        assert np.allclose(missed.center_mm, vol.index_to_patient(missed.center_kji))
        assert not panel.missed_mode and model.window == window
    assert axial.transform().y0 > 5 and point_at(axial, 150, 2) is None  # above the image: nothing
