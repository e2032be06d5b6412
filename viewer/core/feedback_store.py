"""The AI feedback store: the radiologist's answers to the AI, in a SQLite file that survives
restarts (schema and reads/writes; records in :mod:`viewer.core.feedback_records`, agreement in
:mod:`viewer.core.feedback_agreement`, export in :mod:`viewer.core.feedback_export`). Opened
through the storage layer shared with the study database (:mod:`viewer.core.storage_db`).

Where: ``feedback.sqlite3`` in RadSight's data folder (:mod:`viewer.core.storage_paths`:
``$RADSIGHT_HOME``, else ``$RADSIGHT_DATA_DIR``, else the platform's per-user data folder), or
any path given to :class:`FeedbackDB`.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from viewer.core import storage_db
from viewer.core.feedback_agreement import tally_agreement
from viewer.core.feedback_export import finding_item, missed_item
from viewer.core.feedback_records import (
    MARKED_SQL,
    VERDICTS,
    AgreementBin,
    Analysis,
    Bin,
    Feedback,
    FeedbackDBError,
    MissedFinding,
    StoredFinding,
    StudySummary,
    analysis_from_row,
    feedback_from_row,
    iso,
    missed_from_row,
    parse_time,
    sop_for_slice,
    summary_from_row,
    triple,
)
from viewer.core.storage_paths import data_dir

SCHEMA_VERSION = 1
DB_FILE = "feedback.sqlite3"

_SCHEMA = """
CREATE TABLE analyses (
    id INTEGER PRIMARY KEY,
    study_instance_uid TEXT NOT NULL,
    series_instance_uid TEXT NOT NULL,
    model TEXT NOT NULL,
    model_version TEXT NOT NULL,
    provider TEXT NOT NULL DEFAULT '',
    seconds REAL,
    analysed_at TEXT NOT NULL
);
CREATE INDEX analyses_series ON analyses(series_instance_uid, model);
CREATE INDEX analyses_study ON analyses(study_instance_uid);
CREATE TABLE findings (
    id INTEGER PRIMARY KEY,
    analysis_id INTEGER NOT NULL REFERENCES analyses(id) ON DELETE CASCADE,
    finding_uid TEXT NOT NULL UNIQUE,
    label TEXT NOT NULL,
    score REAL NOT NULL,
    passes_operating_point INTEGER NOT NULL,
    sop_instance_uid TEXT,
    k REAL, j REAL, i REAL,
    x_mm REAL, y_mm REAL, z_mm REAL,
    finding_json TEXT NOT NULL
);
CREATE INDEX findings_analysis ON findings(analysis_id);
CREATE TABLE feedback (
    id INTEGER PRIMARY KEY,
    finding_uid TEXT NOT NULL REFERENCES findings(finding_uid) ON DELETE CASCADE,
    verdict TEXT NOT NULL CHECK (verdict IN ('accept', 'reject', 'unsure')),
    comment TEXT NOT NULL DEFAULT '',
    given_at TEXT NOT NULL
);
CREATE INDEX feedback_finding ON feedback(finding_uid);
CREATE TABLE missed_findings (
    id INTEGER PRIMARY KEY,
    study_instance_uid TEXT NOT NULL,
    series_instance_uid TEXT NOT NULL,
    sop_instance_uid TEXT,
    label TEXT NOT NULL,
    k REAL, j REAL, i REAL,
    x_mm REAL, y_mm REAL, z_mm REAL,
    model TEXT,
    comment TEXT NOT NULL DEFAULT '',
    added_at TEXT NOT NULL
);
CREATE INDEX missed_series ON missed_findings(series_instance_uid);
"""


def default_data_dir() -> Path:
    """RadSight's data folder (see :mod:`viewer.core.storage_paths`)."""
    return data_dir()


def default_db_path() -> Path:
    return default_data_dir() / DB_FILE


# --- the database ------------------------------------------------------------------------------
class FeedbackDB:
    """The feedback database (see the module docstring). Use from one thread; close when done."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else default_db_path()
        self._conn = storage_db.connect(self.path)
        try:
            storage_db.migrate(self._conn, self.path, SCHEMA_VERSION, _SCHEMA)
        except storage_db.StorageError as exc:
            raise FeedbackDBError(str(exc)) from exc

    @property
    def schema_version(self) -> int:
        return int(self._conn.execute("PRAGMA user_version").fetchone()[0])

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> FeedbackDB:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- writing ----------------------------------------------------------------------------
    def record_analysis(self, study_instance_uid: str, series_instance_uid: str, model: str,
                        model_version: str, findings: Iterable[dict[str, Any]], provider: str = "",
                        seconds: float | None = None, sop_instance_uids: Sequence[str] = (),
                        analysed_at: datetime | None = None) -> int:
        """Store one model run and its findings (``Finding.to_dict()`` dicts); returns its id.

        Each finding's SOP Instance UID is the one of the slice nearest its ``center_kji[0]``
        in ``sop_instance_uids`` (the volume's, in k order); a finding dict may also carry
        ``sop_instance_uid`` itself.
        """
        with self._conn:
            cursor = self._conn.execute(
                "INSERT INTO analyses (study_instance_uid, series_instance_uid, model, model_version,"
                " provider, seconds, analysed_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (study_instance_uid, series_instance_uid, model, model_version, provider, seconds,
                 iso(analysed_at)))
            analysis_id = int(cursor.lastrowid)
            for finding in findings:
                self._insert_finding(analysis_id, finding, sop_instance_uids)
        return analysis_id

    def _insert_finding(self, analysis_id: int, finding: dict[str, Any],
                        sop_instance_uids: Sequence[str]) -> None:
        kji = triple(finding.get("center_kji"))
        sop = finding.get("sop_instance_uid") or sop_for_slice(sop_instance_uids, kji[0])
        self._conn.execute(
            "INSERT INTO findings (analysis_id, finding_uid, label, score, passes_operating_point,"
            " sop_instance_uid, k, j, i, x_mm, y_mm, z_mm, finding_json)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (analysis_id, str(finding["id"]), str(finding["label"]), float(finding["score"]),
             int(bool(finding["passes_operating_point"])), sop, *kji,
             *triple(finding.get("center_mm")), json.dumps(finding)))

    def set_feedback(self, finding_uid: str, verdict: str, comment: str = "",
                     at: datetime | None = None) -> Feedback:
        """Record the radiologist's verdict on a stored finding (the latest one counts)."""
        if verdict not in VERDICTS:
            raise FeedbackDBError(f"verdict must be one of {', '.join(VERDICTS)}, not {verdict!r}")
        known = self._conn.execute("SELECT 1 FROM findings WHERE finding_uid = ?", (finding_uid,))
        if known.fetchone() is None:
            raise FeedbackDBError(f"no stored finding {finding_uid!r}: record its analysis first")
        given_at = iso(at)
        with self._conn:
            self._conn.execute("INSERT INTO feedback (finding_uid, verdict, comment, given_at)"
                               " VALUES (?, ?, ?, ?)", (finding_uid, verdict, comment, given_at))
        return Feedback(finding_uid, verdict, comment, parse_time(given_at))

    def add_missed(self, study_instance_uid: str, series_instance_uid: str, label: str,
                   center_kji: Sequence[float] | None, center_mm: Sequence[float] | None = None,
                   sop_instance_uid: str | None = None, model: str | None = None, comment: str = "",
                   at: datetime | None = None) -> int:
        """A finding the AI missed, added by the radiologist with a click; returns its id."""
        with self._conn:
            cursor = self._conn.execute(
                "INSERT INTO missed_findings (study_instance_uid, series_instance_uid, sop_instance_uid,"
                " label, k, j, i, x_mm, y_mm, z_mm, model, comment, added_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (study_instance_uid, series_instance_uid, sop_instance_uid, label, *triple(center_kji),
                 *triple(center_mm), model, comment, iso(at)))
        return int(cursor.lastrowid)

    def delete_missed(self, missed_id: int) -> None:
        with self._conn:
            self._conn.execute("DELETE FROM missed_findings WHERE id = ?", (missed_id,))

    # --- reading ----------------------------------------------------------------------------
    def feedback_for(self, finding_uid: str) -> Feedback | None:
        """The latest verdict on a finding, or None."""
        row = self._conn.execute(
            "SELECT finding_uid, verdict, comment, given_at FROM feedback WHERE finding_uid = ?"
            " ORDER BY given_at DESC, id DESC LIMIT 1", (finding_uid,)).fetchone()
        return None if row is None else feedback_from_row(row)

    def feedback_history(self, finding_uid: str) -> list[Feedback]:
        rows = self._conn.execute("SELECT finding_uid, verdict, comment, given_at FROM feedback"
                                  " WHERE finding_uid = ? ORDER BY given_at, id", (finding_uid,))
        return [feedback_from_row(row) for row in rows]

    def analyses(self, series_instance_uid: str | None = None) -> list[Analysis]:
        """Every stored run (of one series when given), oldest first."""
        sql, args = "SELECT * FROM analyses", ()
        if series_instance_uid is not None:
            sql, args = sql + " WHERE series_instance_uid = ?", (series_instance_uid,)
        return [analysis_from_row(row) for row in self._conn.execute(sql + " ORDER BY analysed_at, id", args)]

    def latest_analyses(self, series_instance_uid: str) -> list[Analysis]:
        """The latest run of each model on the series."""
        rows = self._conn.execute(f"SELECT * FROM ({_LATEST}) WHERE series_instance_uid = ? ORDER BY model",
                                  (series_instance_uid,))
        return [analysis_from_row(row) for row in rows]

    def findings_of(self, analysis_id: int) -> list[StoredFinding]:
        rows = self._conn.execute("SELECT analysis_id, sop_instance_uid, finding_json FROM findings"
                                  " WHERE analysis_id = ? ORDER BY score DESC, id", (analysis_id,))
        return [self._stored(row) for row in rows]

    def latest_findings(self, series_instance_uid: str) -> list[StoredFinding]:
        """The findings of the latest run of each model on the series, best score first, with
        the radiologist's latest verdicts (what to show when a series is reopened)."""
        found = [f for a in self.latest_analyses(series_instance_uid) for f in self.findings_of(a.id)]
        return sorted(found, key=lambda f: -float(f.finding["score"]))

    def _stored(self, row: sqlite3.Row) -> StoredFinding:
        finding = json.loads(row["finding_json"])
        return StoredFinding(finding, int(row["analysis_id"]), row["sop_instance_uid"],
                             self.feedback_for(str(finding["id"])))

    def missed_findings(self, series_instance_uid: str | None = None) -> list[MissedFinding]:
        sql, args = "SELECT * FROM missed_findings", ()
        if series_instance_uid is not None:
            sql, args = sql + " WHERE series_instance_uid = ?", (series_instance_uid,)
        return [missed_from_row(row) for row in self._conn.execute(sql + " ORDER BY added_at, id", args)]

    def study_summaries(self, study_instance_uids: Iterable[str] | None = None) -> dict[str, StudySummary]:
        """Per analysed study: latest time, models, findings and highest scores (see
        :class:`StudySummary`); studies never analysed are absent."""
        rows = self._conn.execute(_SUMMARY).fetchall()
        wanted = None if study_instance_uids is None else set(study_instance_uids)
        return {row["study_instance_uid"]: summary_from_row(row) for row in rows
                if wanted is None or row["study_instance_uid"] in wanted}

    def agreement(self, bin: Bin = "week", model: str | None = None) -> list[AgreementBin]:
        """Agreement of each model with the radiologist's latest verdicts, per day or week
        (sorted by model, then time; see :mod:`viewer.core.feedback_agreement`)."""
        return tally_agreement(self._conn, bin, model)

    def models(self) -> list[str]:
        return [row[0] for row in self._conn.execute("SELECT DISTINCT model FROM analyses ORDER BY model")]

    # --- export -----------------------------------------------------------------------------
    def dataset_items(self) -> list[dict[str, Any]]:
        """Every stored finding (with its latest verdict) and every missed finding, as export rows."""
        items = [finding_item(row, self.feedback_for(row["finding_uid"]))
                 for row in self._conn.execute(_EXPORT_FINDINGS)]
        return items + [missed_item(row) for row in self._conn.execute(
            "SELECT * FROM missed_findings ORDER BY added_at, id")]


_LATEST = """
SELECT a.* FROM analyses a
WHERE a.id = (SELECT b.id FROM analyses b
              WHERE b.series_instance_uid = a.series_instance_uid AND b.model = a.model
              ORDER BY b.analysed_at DESC, b.id DESC LIMIT 1)
"""

_SUMMARY = f"""
SELECT l.study_instance_uid, MAX(l.analysed_at) AS last_analysed_at,
       GROUP_CONCAT(DISTINCT l.model) AS models, COUNT(f.id) AS n_findings,
       COALESCE(SUM({MARKED_SQL}), 0) AS n_marked, MAX(f.score) AS max_score,
       MAX(CASE WHEN {MARKED_SQL} THEN f.score END) AS max_marked_score
FROM ({_LATEST}) l LEFT JOIN findings f ON f.analysis_id = l.id
GROUP BY l.study_instance_uid
"""

_EXPORT_FINDINGS = """
SELECT f.*, a.study_instance_uid, a.series_instance_uid, a.model, a.model_version, a.analysed_at
FROM findings f JOIN analyses a ON a.id = f.analysis_id ORDER BY a.analysed_at, a.id, f.id
"""
