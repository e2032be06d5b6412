"""`radsight feedback export|agreement` on a real database file."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from viewer.cli import main
from viewer.core.feedback_db import FeedbackDB, load_dataset


def test_export_and_agreement(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db_path = tmp_path / "feedback.sqlite3"
    with FeedbackDB(db_path) as db:
        finding = {"id": "f1", "label": "nodule", "score": 0.8, "passes_operating_point": True,
                   "center_kji": [3.0, 4.0, 5.0]}
        db.record_analysis("1.2", "1.2.3", "nodule-ct", "1.0.0", [finding], sop_instance_uids="abcd")
        db.set_feedback("f1", "accept", at=datetime(2026, 11, 3, tzinfo=UTC))
        db.add_missed("1.2", "1.2.3", "nodule", (1.0, 2.0, 3.0), sop_instance_uid="b")
    assert main(["feedback", "export", "--db", str(db_path), "--out", str(tmp_path / "out")]) == 0
    assert "1 AI findings, 1 radiologist-added findings" in capsys.readouterr().out
    items = load_dataset(tmp_path / "out" / "feedback.csv")
    assert [(i["kind"], i["sop_instance_uid"], i["verdict"]) for i in items] == [
        ("finding", "d", "accept"), ("missed", "b", "missed")]
    assert main(["feedback", "agreement", "--db", str(db_path), "--bin", "day"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split() == ["nodule-ct", "2026-11-03", "1", "0", "0", "1.00"]
    assert main(["feedback", "agreement", "--db", str(tmp_path / "missing.sqlite3")]) == 2
