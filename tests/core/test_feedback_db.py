"""The feedback database on a real SQLite file: write, reopen (= restart), queries, export."""

from __future__ import annotations

import csv
import json
import sqlite3
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from ai.findings import Finding
from viewer.core.feedback_db import (
    CSV_COLUMNS,
    DB_FILE,
    SCHEMA_VERSION,
    FeedbackDB,
    FeedbackDBError,
    bin_start,
    default_db_path,
    export_dataset,
    load_dataset,
)

STUDY, SERIES = "1.2.840.99.1", "1.2.840.99.1.2"
SOPS = tuple(f"1.2.840.99.1.2.{k}" for k in range(10))


def finding(score: float, passes: bool, k: float = 4.0, model: str = "nodule-ct",
            label: str = "nodule") -> dict:
    return Finding(model, "1.0.0", label, score, passes, threshold=0.5, center_kji=(k, 20.0, 30.0),
                   center_mm=(-10.0, 5.0, -100.0 + k), size_mm=(6.0, 7.0, 7.0),
                   box_kji=(k - 3, 16.0, 26.0, k + 3, 25.0, 35.0), explanation=label,
                   series_instance_uid=SERIES).to_dict()


def at(day: int, hour: int = 10) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=UTC)


def test_default_path_follows_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RADSIGHT_DATA_DIR", str(tmp_path / "data"))
    assert default_db_path() == tmp_path / "data" / DB_FILE
    with FeedbackDB() as db:
        assert db.path == tmp_path / "data" / DB_FILE and db.schema_version == SCHEMA_VERSION
    assert (tmp_path / "data" / DB_FILE).is_file()


def test_analysis_findings_and_feedback_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "feedback.sqlite3"
    a, b = finding(0.91, True, k=4.2), finding(0.30, False, k=8.0)
    with FeedbackDB(path) as db:
        run = db.record_analysis(STUDY, SERIES, "nodule-ct", "1.0.0", [a, b], provider="CPUExecutionProvider",
                                 seconds=2.5, sop_instance_uids=SOPS, analysed_at=at(2))
        db.set_feedback(a["id"], "unsure", at=at(2, 11))
        db.set_feedback(a["id"], "accept", "solid nodule, RUL", at=at(2, 12))
        db.set_feedback(b["id"], "reject", at=at(2, 12))
        missed = db.add_missed(STUDY, SERIES, "nodule", (6.0, 40.0, 50.0), (1.0, 2.0, -94.0), SOPS[6],
                               model="nodule-ct", comment="small GGO", at=at(2, 13))
    with FeedbackDB(path) as db:  # a new connection: what a restarted app sees
        [analysis] = db.latest_analyses(SERIES)
        assert (analysis.id, analysis.provider, analysis.seconds) == (run, "CPUExecutionProvider", 2.5)
        first, second = db.latest_findings(SERIES)
        assert first.finding == a and second.finding == b
        assert first.sop_instance_uid == SOPS[4] and second.sop_instance_uid == SOPS[8]
        assert (first.feedback.verdict, first.feedback.comment) == ("accept", "solid nodule, RUL")
        assert second.feedback.verdict == "reject"
        assert [f.verdict for f in db.feedback_history(a["id"])] == ["unsure", "accept"]
        assert Finding.from_dict(first.finding).center_kji == (4.2, 20.0, 30.0)
        [m] = db.missed_findings(SERIES)
        assert (m.id, m.label, m.sop_instance_uid, m.center_kji, m.center_mm) == (
            missed, "nodule", SOPS[6], (6.0, 40.0, 50.0), (1.0, 2.0, -94.0))


def test_latest_run_replaces_older_ones_per_model(tmp_path: Path) -> None:
    with FeedbackDB(tmp_path / "f.sqlite3") as db:
        db.record_analysis(STUDY, SERIES, "nodule-ct", "1.0.0", [finding(0.95, True)], analysed_at=at(1))
        newer = finding(0.40, False)
        db.record_analysis(STUDY, SERIES, "nodule-ct", "1.0.1", [newer], analysed_at=at(3))
        db.record_analysis(STUDY, SERIES, "tumour-mri", "1.0.0", [], analysed_at=at(2))
        assert [(x.model, x.model_version) for x in db.latest_analyses(SERIES)] == [
            ("nodule-ct", "1.0.1"), ("tumour-mri", "1.0.0")]
        assert [f.finding["id"] for f in db.latest_findings(SERIES)] == [newer["id"]]
        assert len(db.analyses(SERIES)) == 3 and db.models() == ["nodule-ct", "tumour-mri"]


def test_study_summaries_for_triage(tmp_path: Path) -> None:
    with FeedbackDB(tmp_path / "f.sqlite3") as db:
        db.record_analysis(STUDY, SERIES, "nodule-ct", "1", [finding(0.8, True), finding(0.3, False)],
                           analysed_at=at(1))
        db.record_analysis(STUDY, SERIES + ".9", "nodule-ct", "1", [finding(0.95, False)], analysed_at=at(2))
        db.record_analysis("1.2.3", "1.2.3.4", "fracture-radiograph", "1", [finding(0.2, False)],
                           analysed_at=at(3))
        db.record_analysis("1.2.5", "1.2.5.6", "fracture-radiograph", "1", [], analysed_at=at(4))
        summaries = db.study_summaries()
        s = summaries[STUDY]
        assert (s.n_findings, s.n_marked, s.max_score, s.max_marked_score) == (3, 1, 0.95, 0.8)
        assert s.last_analysed_at == at(2) and s.models == ("nodule-ct",)
        assert (summaries["1.2.3"].n_marked, summaries["1.2.3"].max_marked_score) == (0, None)
        assert (summaries["1.2.5"].n_findings, summaries["1.2.5"].max_score) == (0, None)
        assert set(db.study_summaries(["1.2.3", "9.9"])) == {"1.2.3"}


def test_agreement_per_model_per_day_and_week(tmp_path: Path) -> None:
    with FeedbackDB(tmp_path / "f.sqlite3") as db:
        found = [finding(0.9, True), finding(0.8, True), finding(0.2, False), finding(0.1, False)]
        db.record_analysis(STUDY, SERIES, "nodule-ct", "1", found, analysed_at=at(2))
        frac = finding(0.7, True, model="fracture-radiograph", label="fracture")
        db.record_analysis("1.9", "1.9.1", "fracture-radiograph", "1", [frac], analysed_at=at(2))
        db.set_feedback(found[0]["id"], "accept", at=at(2))  # agree
        db.set_feedback(found[1]["id"], "reject", at=at(2))  # disagree
        db.set_feedback(found[2]["id"], "reject", at=at(3))  # agree (below the point, rejected)
        db.set_feedback(found[3]["id"], "accept", at=at(3))  # changed below: the latest counts
        db.set_feedback(found[3]["id"], "unsure", at=at(10))
        db.set_feedback(frac["id"], "accept", at=at(4))
        capped = finding(0.85, True, model="fracture-radiograph", label="fracture")
        capped["hidden_by"] = "per_scan_cap"
        db.record_analysis("1.9", "1.9.2", "fracture-radiograph", "1", [capped], analysed_at=at(4))
        db.set_feedback(capped["id"], "reject", at=at(4))  # agree: the cap kept it unmarked
        days = db.agreement("day")
        assert [(b.model, b.start, b.agree, b.disagree, b.unsure) for b in days] == [
            ("fracture-radiograph", date(2026, 11, 4), 2, 0, 0),
            ("nodule-ct", date(2026, 11, 2), 1, 1, 0),
            ("nodule-ct", date(2026, 11, 3), 1, 0, 0),
            ("nodule-ct", date(2026, 11, 10), 0, 0, 1)]
        assert [b.rate for b in days] == [1.0, 0.5, 1.0, None]
        weeks = db.agreement("week", model="nodule-ct")  # 2026-11-02 is a Monday
        assert [(b.start, b.agree, b.disagree, b.unsure) for b in weeks] == [
            (date(2026, 11, 2), 2, 1, 0), (date(2026, 11, 9), 0, 0, 1)]
    assert bin_start(at(8), "week") == date(2026, 11, 2)


def test_refusals(tmp_path: Path) -> None:
    path = tmp_path / "f.sqlite3"
    with FeedbackDB(path) as db:
        with pytest.raises(FeedbackDBError, match="no stored finding"):
            db.set_feedback("nope", "accept")
        db.record_analysis(STUDY, SERIES, "m", "1", [f := finding(0.9, True)])
        with pytest.raises(FeedbackDBError, match="verdict must be one of accept, reject, unsure"):
            db.set_feedback(f["id"], "maybe")
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(FeedbackDBError, match="newer RadSight"):
        FeedbackDB(path)


def test_export_round_trip(tmp_path: Path) -> None:
    with FeedbackDB(tmp_path / "f.sqlite3") as db:
        a, b = finding(0.91, True, k=4.0), finding(0.3, False, k=7.0)
        db.record_analysis(STUDY, SERIES, "nodule-ct", "1.0.0", [a, b], sop_instance_uids=SOPS,
                           analysed_at=at(2))
        db.set_feedback(a["id"], "accept", 'ok, "solid"', at=at(2, 11))
        db.add_missed(STUDY, SERIES, "nodule", (6.0, 40.0, 50.0), None, SOPS[6], at=at(2, 12))
        exported = export_dataset(db, tmp_path / "export")
    assert (exported.n_findings, exported.n_missed) == (2, 1)
    from_json = load_dataset(exported.json_path)
    from_csv = load_dataset(exported.csv_path)
    assert [i["kind"] for i in from_json] == ["finding", "finding", "missed"]
    first = from_json[0]
    assert (first["item_id"], first["sop_instance_uid"], first["verdict"], first["comment"]) == (
        a["id"], SOPS[4], "accept", 'ok, "solid"')
    assert (first["k"], first["j"], first["i"], first["z_mm"]) == (4.0, 20.0, 30.0, -96.0)
    assert (first["box_k0"], first["box_k1"], first["size_i_mm"]) == (1.0, 7.0, 7.0)
    assert first["finding"] == a and from_json[1]["verdict"] is None
    missed = from_json[2]
    assert (missed["verdict"], missed["sop_instance_uid"], missed["x_mm"], missed["k"]) == (
        "missed", SOPS[6], None, 6.0)
    for row_csv, row_json in zip(from_csv, from_json, strict=True):
        assert row_csv == {k: v for k, v in row_json.items() if k != "finding"}
    with exported.csv_path.open() as handle:
        assert tuple(next(csv.reader(handle))) == CSV_COLUMNS
    document = json.loads(exported.json_path.read_text())
    assert document["format"] == "radsight-feedback" and "not for diagnostic use" in document["disclaimer"]


def test_no_patient_identifiers_in_the_schema(tmp_path: Path) -> None:
    with FeedbackDB(tmp_path / "f.sqlite3") as db:
        db.record_analysis(STUDY, SERIES, "m", "1", [finding(0.9, True)])
    with sqlite3.connect(tmp_path / "f.sqlite3") as conn:
        columns = {row[1].lower() for table in ("analyses", "findings", "feedback", "missed_findings")
                   for row in conn.execute(f"PRAGMA table_info({table})")}
    assert not {c for c in columns if "patient" in c or "name" in c or "birth" in c}
