"""Triage from a real feedback database: status, top score, sorting and flagging."""

from __future__ import annotations

from pathlib import Path

from ai.findings import Finding
from viewer.core.feedback_db import FeedbackDB
from viewer.core.triage import AIStatus, flagged, sort_studies, triage_studies


def finding(score: float, passes: bool, hidden_by: str | None = None) -> dict:
    return Finding("nodule-ct", "1.0.0", "nodule", score, passes, threshold=0.5,
                   center_kji=(3.0, 4.0, 5.0), hidden_by=hidden_by).to_dict()


def test_status_score_sort_and_flag(tmp_path: Path) -> None:
    with FeedbackDB(tmp_path / "f.sqlite3") as db:
        db.record_analysis("S-low", "S-low.1", "nodule-ct", "1", [finding(0.2, False)])
        db.record_analysis("S-high", "S-high.1", "nodule-ct", "1", [finding(0.95, True), finding(0.7, True)])
        db.record_analysis("S-mid", "S-mid.1", "nodule-ct", "1", [finding(0.6, True)])
        db.record_analysis("S-empty", "S-empty.1", "nodule-ct", "1", [])
        order = ["S-none", "S-low", "S-empty", "S-mid", "S-high"]
        triage = triage_studies(db, order)
    assert list(triage) == order
    assert triage["S-none"].status is AIStatus.NOT_ANALYSED and triage["S-none"].text == "not analysed"
    assert triage["S-low"].status is AIStatus.ANALYSED and triage["S-low"].score_text == "0.20"
    assert triage["S-low"].text == "analysed: nothing marked (max 0.20)"
    assert triage["S-empty"].text == "analysed: no findings" and triage["S-empty"].max_score is None
    high = triage["S-high"]
    assert (high.status, high.max_score, high.n_flagged) == (AIStatus.FLAGGED, 0.95, 2)
    assert high.models == ("nodule-ct",)
    assert high.text == "2 findings marked (max 0.95)"
    assert sort_studies(triage) == ["S-high", "S-mid", "S-low", "S-empty", "S-none"]
    assert flagged(triage) == ["S-high", "S-mid"]


def test_flag_at_a_score(tmp_path: Path) -> None:
    with FeedbackDB(tmp_path / "f.sqlite3") as db:
        db.record_analysis("A", "A.1", "nodule-ct", "1", [finding(0.45, False)])
        db.record_analysis("B", "B.1", "nodule-ct", "1", [finding(0.30, False)])
        triage = triage_studies(db, ["B", "A"], flag_at=0.4)
    assert triage["A"].status is AIStatus.FLAGGED and triage["B"].status is AIStatus.ANALYSED
    assert sort_studies(triage) == ["A", "B"]


def test_a_finding_hidden_by_a_per_scan_cap_does_not_flag(tmp_path: Path) -> None:
    """Past the operating point but hidden by the model's per-scan cap: not marked, so not counted — the
    browser's count agrees with the marks the reader sees on the images."""
    with FeedbackDB(tmp_path / "f.sqlite3") as db:
        db.record_analysis("C", "C.1", "nodule-ct", "1",
                           [finding(0.9, True), finding(0.8, True, hidden_by="per_scan_cap")])
        db.record_analysis("H", "H.1", "nodule-ct", "1", [finding(0.7, True, hidden_by="per_scan_cap")])
        triage = triage_studies(db, ["C", "H"])
    assert (triage["C"].status, triage["C"].n_flagged, triage["C"].n_findings) == (AIStatus.FLAGGED, 1, 2)
    assert triage["C"].text == "1 finding marked (max 0.90)"
    assert triage["H"].status is AIStatus.ANALYSED
    assert triage["H"].text == "analysed: nothing marked (max 0.70)"
