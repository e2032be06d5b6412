"""The findings panel driven with the real mouse and keyboard on a real feedback database."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from ai.findings import Finding
from viewer.analysis.operating_point import operating_point_words
from viewer.core.feedback_db import FeedbackDB
from viewer.ui.findings_panel import (
    FindingsPanel,
    location_text,
    size_text,
    status_text,
    stored_findings,
)

from .viewer_helpers import save

STUDY, SERIES = "1.2.826.0.1.77", "1.2.826.0.1.77.1"


def findings() -> list[Finding]:
    """Three findings with fixed ids (so that the database rows match them)."""
    nodule = Finding("nodule-ct", "1.0.0", "nodule", 0.91, True, threshold=0.5, id="a1",
                     center_kji=(87.0, 300.0, 150.0), center_mm=(-80.5, 20.25, -520.0),
                     size_mm=(14.0, 15.6, 15.6),
                     box_kji=(80.0, 290.0, 140.0, 94.0, 310.0, 160.0))
    weak = Finding("nodule-ct", "1.0.0", "nodule", 0.31, False, threshold=0.5, id="a2",
                   center_kji=(40.0, 200.0, 300.0), center_mm=(60.0, -10.0, -600.0),
                   size_mm=(6.0, 6.2, 6.2),
                   box_kji=(37.0, 196.0, 296.0, 43.0, 204.0, 304.0))
    other = Finding("tumour-mri", "0.3.0", "tumour", 0.62, True, threshold=0.6, id="b1",
                    center_kji=(0.0, 47.0, 23.0), size_mm=(1.0, 20.0, 30.0),
                    box_kji=(0.0, 37.0, 8.0, 1.0, 57.0, 38.0))
    return [weak, nodule, other]


@pytest.fixture
def db(tmp_path: Path):  # noqa: ANN201
    database = FeedbackDB(tmp_path / "feedback.sqlite3")
    database.record_analysis(STUDY, SERIES, "nodule-ct", "1.0.0", [f.to_dict() for f in findings()])
    yield database
    database.close()


def make_panel(qtbot, db: FeedbackDB, items: list[Finding]) -> FindingsPanel:  # noqa: ANN001
    panel = FindingsPanel(db)
    qtbot.addWidget(panel)
    panel.resize(760, 360)
    panel.show()
    qtbot.waitExposed(panel)
    panel.set_findings(items, n_slices=275)
    return panel


def click_row(panel: FindingsPanel, row: int) -> None:
    rect = panel.table.visualItemRect(panel.table.item(row, 0))
    QTest.mouseClick(panel.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def cells(panel: FindingsPanel, row: int) -> list[str]:
    return [panel.table.item(row, c).text() for c in range(panel.table.columnCount())]


def test_operating_point_words_are_true() -> None:
    """Marked only when score ≥ threshold and no other rule hid it; the rule that hid it is named."""
    nodule, weak = findings()[1], findings()[0]
    capped = replace(nodule, id="c1", score=0.95, hidden_by="per_scan_cap")
    assert operating_point_words(nodule, short=True) == "marked: ≥ 0.5"
    assert operating_point_words(weak, short=True) == "< 0.5"
    assert operating_point_words(capped, short=True) == "≥ 0.5, not marked: per scan cap"
    assert not capped.marked
    assert status_text([nodule, weak, capped], 1) == ("3 finding(s), 1 marked (score ≥ operating point); "
                                                      "1 more ≥ it not marked by rule: per scan cap; 1 shown")


def test_a_hidden_finding_names_its_rule(qtbot, db: FeedbackDB) -> None:  # noqa: ANN001
    capped = replace(findings()[1], id="c1", score=0.95, hidden_by="per_scan_cap")
    panel = make_panel(qtbot, db, [capped])
    panel.set_rules({"per_scan_cap": "at most 5 findings per scan are marked"})
    assert panel.visible_findings() == [capped]  # the "marked only" filter is off here
    panel.only_passing.setChecked(True)
    assert panel.visible_findings() == []  # it passes the threshold but is not marked
    panel.only_passing.setChecked(False)
    cell = panel.table.item(0, 2)
    assert cell.text() == "≥ 0.5, not marked: per scan cap"
    assert cell.toolTip() == "at most 5 findings per scan are marked"


def test_texts() -> None:
    nodule, other = findings()[1], findings()[2]
    assert size_text(nodule) == "14.0 × 15.6 × 15.6 mm" and size_text(other) == "20.0 × 30.0 px"
    assert location_text(nodule, 275) == "slice 88/275 · (-80.5, 20.2, -520.0) mm"
    assert location_text(other, 1) == "row 47, col 23 px"


def test_rows_filters_and_click(qtbot, db: FeedbackDB, output_dir: Path) -> None:  # noqa: ANN001
    panel = make_panel(qtbot, db, findings())
    assert panel.table.rowCount() == 3
    assert cells(panel, 0) == ["nodule", "0.910", "marked: ≥ 0.5", "", "14.0 × 15.6 × 15.6 mm",
                               "slice 88/275 · (-80.5, 20.2, -520.0) mm", "nodule-ct 1.0.0"]
    assert [cells(panel, r)[1] for r in range(3)] == ["0.910", "0.620", "0.310"]
    jumps: list[Finding] = []
    panel.finding_activated.connect(jumps.append)
    click_row(panel, 0)
    assert [f.score for f in jumps] == [0.91]
    click_row(panel, 0)  # again: jump again (the views may have been paged away)
    click_row(panel, 2)
    assert [f.score for f in jumps] == [0.91, 0.91, 0.31]
    save(panel.grab().toImage(), output_dir, "findings_panel.png")
    panel.model_filter.setCurrentText("tumour-mri")
    assert [f.model for f in panel.visible_findings()] == ["tumour-mri"] and panel.table.rowCount() == 1
    panel.model_filter.setCurrentText("All models")
    panel.threshold.setValue(0.5)
    assert panel.table.rowCount() == 2
    panel.threshold.setValue(0.0)
    panel.only_passing.setChecked(True)
    assert [f.score for f in panel.visible_findings()] == [0.91, 0.62]
    assert panel.status.text() == "3 finding(s), 2 marked (score ≥ operating point); 2 shown"


def test_feedback_is_stored_and_survives_a_restart(qtbot, db: FeedbackDB, tmp_path: Path,  # noqa: ANN001
                                                   output_dir: Path) -> None:
    panel = make_panel(qtbot, db, findings())
    given: list[tuple[str, str]] = []
    panel.feedback_given.connect(lambda f, v, c: given.append((v, c)))
    click_row(panel, 0)
    QTest.keyClicks(panel.comment, "typical solid nodule")
    QTest.mouseClick(panel.buttons["accept"], Qt.MouseButton.LeftButton)
    click_row(panel, 2)
    QTest.mouseClick(panel.buttons["reject"], Qt.MouseButton.LeftButton)
    assert given == [("accept", "typical solid nodule"), ("reject", "")]
    stored = db.feedback_for("a1")
    assert (stored.verdict, stored.comment) == ("accept", "typical solid nodule")
    assert cells(panel, 0)[3] == "accepted: typical solid nodule" and cells(panel, 2)[3] == "rejected"
    assert panel.comment.text() == ""
    db.close()
    with FeedbackDB(tmp_path / "feedback.sqlite3") as reopened:  # the app restarted
        again = make_panel(qtbot, reopened, stored_findings(reopened, SERIES))
        assert [cells(again, r)[3] for r in range(3)] == ["accepted: typical solid nodule", "", "rejected"]
        save(again.grab().toImage(), output_dir, "findings_panel_after_restart.png")


def test_add_missed_finding(qtbot, db: FeedbackDB) -> None:  # noqa: ANN001
    panel = make_panel(qtbot, db, findings())
    modes: list[bool] = []
    panel.missed_mode_changed.connect(modes.append)
    QTest.mouseClick(panel.missed_button, Qt.MouseButton.LeftButton)
    assert panel.missed_mode and modes == [True]
    panel.missed_label.setText("ground-glass nodule")
    with qtbot.waitSignal(panel.missed_added) as blocker:
        missed_id = panel.add_missed(STUDY, SERIES, (120.0, 250.0, 380.0), (70.0, 5.0, -640.0), "1.2.3.4.120")
    assert blocker.args == [missed_id] and modes == [True, False] and not panel.missed_mode
    [stored] = db.missed_findings(SERIES)
    assert (stored.label, stored.center_kji, stored.sop_instance_uid) == (
        "ground-glass nodule", (120.0, 250.0, 380.0), "1.2.3.4.120")
