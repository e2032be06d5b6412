"""The radiologist's answers to the AI, kept in a local SQLite file that survives restarts.

Where: ``$RADSIGHT_DATA_DIR/feedback.sqlite3`` when that variable is set, else the platform's
per-user data folder (platformdirs, app "RadSight") + ``feedback.sqlite3``; or any path given to
:class:`FeedbackDB`. Only DICOM UIDs, model names, scores, coordinates and the radiologist's
verdicts/comments are stored: **no patient names or IDs** (and nothing here logs).

Schema (version :data:`SCHEMA_VERSION`, kept in ``PRAGMA user_version``)::

    analyses(id, study_instance_uid, series_instance_uid, model, model_version, provider,
             seconds, analysed_at)                         -- one model run on one series
    findings(id, analysis_id → analyses, finding_uid UNIQUE, label, score,
             passes_operating_point, sop_instance_uid, k, j, i, x_mm, y_mm, z_mm,
             finding_json)                                 -- Finding.to_dict() as JSON
    feedback(id, finding_uid → findings, verdict ∈ accept|reject|unsure, comment, given_at)
                                                           -- append-only; the latest row counts
    missed_findings(id, study_instance_uid, series_instance_uid, sop_instance_uid, label,
                    k, j, i, x_mm, y_mm, z_mm, model, comment, added_at)
                                                           -- radiologist-added findings

Coordinates: ``k, j, i`` a (fractional) voxel index on the series' volume grid ``[k, j, i]``;
``x_mm, y_mm, z_mm`` the same point in DICOM patient coordinates (LPS), NULL without geometry.
Times are ISO 8601 UTC strings. ``finding_uid`` is the finding's own ``id``.

Agreement: the model *agrees* with the radiologist when a finding that passes the operating
point is accepted, or one below it is rejected; *disagrees* for the other two; "unsure" is
counted but not in the rate. Rate = agree / (agree + disagree), binned by the day or the ISO week
(Monday) of the verdict. The dataset export format is described in :func:`export_dataset`.
"""

from __future__ import annotations

import csv
import json
import os
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

SCHEMA_VERSION = 1
ENV_DATA_DIR = "RADSIGHT_DATA_DIR"
APP_NAME = "RadSight"
DB_FILE = "feedback.sqlite3"
VERDICTS = ("accept", "reject", "unsure")
EXPORT_FORMAT = "radsight-feedback"
DISCLAIMER = "not for diagnostic use"
Bin = Literal["day", "week"]

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


class FeedbackDBError(Exception):
    """The database cannot be used (written by a newer RadSight, or a bad argument)."""


def default_data_dir() -> Path:
    """``$RADSIGHT_DATA_DIR``, else the platform's per-user data folder for RadSight."""
    override = os.environ.get(ENV_DATA_DIR)
    if override:
        return Path(override).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir(APP_NAME, appauthor=False))


def default_db_path() -> Path:
    return default_data_dir() / DB_FILE


def utc_now() -> datetime:
    return datetime.now(UTC)


def _iso(at: datetime | None) -> str:
    at = at or utc_now()
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC).isoformat(timespec="seconds")


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _triple(values: Sequence[float] | None) -> tuple[float | None, float | None, float | None]:
    if values is None:
        return (None, None, None)
    a, b, c = (float(v) for v in values)
    return (a, b, c)


def sop_for_slice(sop_instance_uids: Sequence[str], k: float | None) -> str | None:
    """The SOP Instance UID of the slice nearest to voxel index ``k`` (None when unknown)."""
    if k is None or not sop_instance_uids:
        return None
    index = int(round(float(k)))
    return sop_instance_uids[index] if 0 <= index < len(sop_instance_uids) else None


# --- records returned by queries ------------------------------------------------------------
@dataclass(frozen=True)
class Analysis:
    id: int
    study_instance_uid: str
    series_instance_uid: str
    model: str
    model_version: str
    provider: str
    seconds: float | None
    analysed_at: datetime


@dataclass(frozen=True)
class Feedback:
    finding_uid: str
    verdict: str
    comment: str
    given_at: datetime


@dataclass(frozen=True)
class StoredFinding:
    """A finding as stored: its JSON dict, where it is, and the radiologist's latest verdict."""

    finding: dict[str, Any]
    analysis_id: int
    sop_instance_uid: str | None
    feedback: Feedback | None

    @property
    def uid(self) -> str:
        return str(self.finding["id"])


@dataclass(frozen=True)
class MissedFinding:
    id: int
    study_instance_uid: str
    series_instance_uid: str
    sop_instance_uid: str | None
    label: str
    center_kji: tuple[float, float, float] | None
    center_mm: tuple[float, float, float] | None
    model: str | None
    comment: str
    added_at: datetime


@dataclass(frozen=True)
class StudySummary:
    """For triage: the latest run of each model on each series of a study, summed up."""

    study_instance_uid: str
    last_analysed_at: datetime
    models: tuple[str, ...]
    n_findings: int
    n_passing: int
    max_score: float | None
    max_passing_score: float | None


@dataclass(frozen=True)
class AgreementBin:
    """Verdicts on one model's findings in one day or week (``start`` = first day of the bin)."""

    model: str
    start: date
    agree: int
    disagree: int
    unsure: int

    @property
    def rate(self) -> float | None:
        """agree / (agree + disagree); None when every verdict was "unsure"."""
        decided = self.agree + self.disagree
        return self.agree / decided if decided else None


# --- the database ------------------------------------------------------------------------------
class FeedbackDB:
    """The feedback database (see the module docstring). Use from one thread; close when done."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else default_db_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(self.path, timeout=10.0)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA foreign_keys = ON")
        self._migrate()

    def _migrate(self) -> None:
        version = self._conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            self._conn.close()
            raise FeedbackDBError(f"{self.path} was written by a newer RadSight (schema {version}; "
                                  f"this one reads up to {SCHEMA_VERSION})")
        if version == 0:
            with self._conn:
                self._conn.executescript(_SCHEMA)
                self._conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

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
                 _iso(analysed_at)))
            analysis_id = int(cursor.lastrowid)
            for finding in findings:
                self._insert_finding(analysis_id, finding, sop_instance_uids)
        return analysis_id

    def _insert_finding(self, analysis_id: int, finding: dict[str, Any],
                        sop_instance_uids: Sequence[str]) -> None:
        kji = _triple(finding.get("center_kji"))
        sop = finding.get("sop_instance_uid") or sop_for_slice(sop_instance_uids, kji[0])
        self._conn.execute(
            "INSERT INTO findings (analysis_id, finding_uid, label, score, passes_operating_point,"
            " sop_instance_uid, k, j, i, x_mm, y_mm, z_mm, finding_json)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (analysis_id, str(finding["id"]), str(finding["label"]), float(finding["score"]),
             int(bool(finding["passes_operating_point"])), sop, *kji,
             *_triple(finding.get("center_mm")), json.dumps(finding)))

    def set_feedback(self, finding_uid: str, verdict: str, comment: str = "",
                     at: datetime | None = None) -> Feedback:
        """Record the radiologist's verdict on a stored finding (the latest one counts)."""
        if verdict not in VERDICTS:
            raise FeedbackDBError(f"verdict must be one of {', '.join(VERDICTS)}, not {verdict!r}")
        known = self._conn.execute("SELECT 1 FROM findings WHERE finding_uid = ?", (finding_uid,))
        if known.fetchone() is None:
            raise FeedbackDBError(f"no stored finding {finding_uid!r}: record its analysis first")
        given_at = _iso(at)
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
                (study_instance_uid, series_instance_uid, sop_instance_uid, label, *_triple(center_kji),
                 *_triple(center_mm), model, comment, _iso(at)))
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
        return None if row is None else _feedback(row)

    def feedback_history(self, finding_uid: str) -> list[Feedback]:
        rows = self._conn.execute("SELECT finding_uid, verdict, comment, given_at FROM feedback"
                                  " WHERE finding_uid = ? ORDER BY given_at, id", (finding_uid,))
        return [_feedback(row) for row in rows]

    def analyses(self, series_instance_uid: str | None = None) -> list[Analysis]:
        """Every stored run (of one series when given), oldest first."""
        sql, args = "SELECT * FROM analyses", ()
        if series_instance_uid is not None:
            sql, args = sql + " WHERE series_instance_uid = ?", (series_instance_uid,)
        return [_analysis(row) for row in self._conn.execute(sql + " ORDER BY analysed_at, id", args)]

    def latest_analyses(self, series_instance_uid: str) -> list[Analysis]:
        """The latest run of each model on the series."""
        rows = self._conn.execute(f"SELECT * FROM ({_LATEST}) WHERE series_instance_uid = ? ORDER BY model",
                                  (series_instance_uid,))
        return [_analysis(row) for row in rows]

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
        return [_missed(row) for row in self._conn.execute(sql + " ORDER BY added_at, id", args)]

    def study_summaries(self, study_instance_uids: Iterable[str] | None = None) -> dict[str, StudySummary]:
        """Per analysed study: latest time, models, findings and highest scores (see
        :class:`StudySummary`); studies never analysed are absent."""
        rows = self._conn.execute(_SUMMARY).fetchall()
        wanted = None if study_instance_uids is None else set(study_instance_uids)
        return {row["study_instance_uid"]: _summary(row) for row in rows
                if wanted is None or row["study_instance_uid"] in wanted}

    def agreement(self, bin: Bin = "week", model: str | None = None) -> list[AgreementBin]:
        """Agreement of each model with the radiologist's latest verdicts, per day or week
        (sorted by model, then time; see the module docstring for the definition)."""
        counts: dict[tuple[str, date], list[int]] = {}
        for row in self._conn.execute(_VERDICTS):
            if model is not None and row["model"] != model:
                continue
            key = (row["model"], bin_start(parse_time(row["given_at"]), bin))
            slot = counts.setdefault(key, [0, 0, 0])
            slot[_agreement_slot(row["verdict"], bool(row["passes_operating_point"]))] += 1
        return [AgreementBin(m, start, *counts[(m, start)]) for m, start in sorted(counts)]

    def models(self) -> list[str]:
        return [row[0] for row in self._conn.execute("SELECT DISTINCT model FROM analyses ORDER BY model")]

    # --- export -----------------------------------------------------------------------------
    def dataset_items(self) -> list[dict[str, Any]]:
        """Every stored finding (with its latest verdict) and every missed finding, as export rows."""
        items = [_finding_item(row, self.feedback_for(row["finding_uid"]))
                 for row in self._conn.execute(_EXPORT_FINDINGS)]
        return items + [_missed_item(row) for row in self._conn.execute(
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
       COALESCE(SUM(f.passes_operating_point), 0) AS n_passing, MAX(f.score) AS max_score,
       MAX(CASE WHEN f.passes_operating_point THEN f.score END) AS max_passing_score
FROM ({_LATEST}) l LEFT JOIN findings f ON f.analysis_id = l.id
GROUP BY l.study_instance_uid
"""

_VERDICTS = """
SELECT a.model, f.passes_operating_point, fb.verdict, fb.given_at
FROM feedback fb JOIN findings f ON f.finding_uid = fb.finding_uid JOIN analyses a ON a.id = f.analysis_id
WHERE fb.id = (SELECT x.id FROM feedback x WHERE x.finding_uid = fb.finding_uid
               ORDER BY x.given_at DESC, x.id DESC LIMIT 1)
"""

_EXPORT_FINDINGS = """
SELECT f.*, a.study_instance_uid, a.series_instance_uid, a.model, a.model_version, a.analysed_at
FROM findings f JOIN analyses a ON a.id = f.analysis_id ORDER BY a.analysed_at, a.id, f.id
"""


def bin_start(at: datetime, bin: Bin) -> date:
    """First day of the day / ISO week (Monday) holding ``at`` (UTC)."""
    day = at.astimezone(UTC).date()
    if bin == "day":
        return day
    if bin == "week":
        return day - timedelta(days=day.weekday())
    raise FeedbackDBError(f"bin must be 'day' or 'week', not {bin!r}")


def _agreement_slot(verdict: str, passes: bool) -> int:
    """0 agree, 1 disagree, 2 unsure."""
    if verdict == "unsure":
        return 2
    return 0 if (verdict == "accept") == passes else 1


def _feedback(row: sqlite3.Row) -> Feedback:
    return Feedback(row["finding_uid"], row["verdict"], row["comment"], parse_time(row["given_at"]))


def _analysis(row: sqlite3.Row) -> Analysis:
    return Analysis(int(row["id"]), row["study_instance_uid"], row["series_instance_uid"], row["model"],
                    row["model_version"], row["provider"], row["seconds"], parse_time(row["analysed_at"]))


def _point(row: sqlite3.Row, names: tuple[str, str, str]) -> tuple[float, float, float] | None:
    values = [row[n] for n in names]
    return None if any(v is None for v in values) else (float(values[0]), float(values[1]), float(values[2]))


def _missed(row: sqlite3.Row) -> MissedFinding:
    return MissedFinding(int(row["id"]), row["study_instance_uid"], row["series_instance_uid"],
                         row["sop_instance_uid"], row["label"], _point(row, ("k", "j", "i")),
                         _point(row, ("x_mm", "y_mm", "z_mm")), row["model"], row["comment"],
                         parse_time(row["added_at"]))


def _summary(row: sqlite3.Row) -> StudySummary:
    models = tuple(sorted(set((row["models"] or "").split(","))))
    return StudySummary(row["study_instance_uid"], parse_time(row["last_analysed_at"]), models,
                        int(row["n_findings"]), int(row["n_passing"]), row["max_score"],
                        row["max_passing_score"])


# --- dataset export ----------------------------------------------------------------------------
CSV_COLUMNS = (
    "kind", "item_id", "study_instance_uid", "series_instance_uid", "sop_instance_uid", "model",
    "model_version", "label", "score", "passes_operating_point", "verdict", "comment",
    "k", "j", "i", "x_mm", "y_mm", "z_mm", "box_k0", "box_j0", "box_i0", "box_k1", "box_j1", "box_i1",
    "size_k_mm", "size_j_mm", "size_i_mm", "created_at", "verdict_at",
)


def _box_columns(finding: dict[str, Any]) -> dict[str, Any]:
    box = finding.get("box_kji") or [None] * 6
    size = finding.get("size_mm") or [None] * 3
    names = ("box_k0", "box_j0", "box_i0", "box_k1", "box_j1", "box_i1")
    return {**dict(zip(names, box, strict=True)),
            **dict(zip(("size_k_mm", "size_j_mm", "size_i_mm"), size, strict=True))}


def _finding_item(row: sqlite3.Row, feedback: Feedback | None) -> dict[str, Any]:
    finding = json.loads(row["finding_json"])
    return {
        "kind": "finding", "item_id": row["finding_uid"], "study_instance_uid": row["study_instance_uid"],
        "series_instance_uid": row["series_instance_uid"], "sop_instance_uid": row["sop_instance_uid"],
        "model": row["model"], "model_version": row["model_version"], "label": row["label"],
        "score": row["score"], "passes_operating_point": bool(row["passes_operating_point"]),
        "verdict": feedback.verdict if feedback else None, "comment": feedback.comment if feedback else "",
        "k": row["k"], "j": row["j"], "i": row["i"], "x_mm": row["x_mm"], "y_mm": row["y_mm"],
        "z_mm": row["z_mm"], **_box_columns(finding), "created_at": row["analysed_at"],
        "verdict_at": _iso(feedback.given_at) if feedback else None, "finding": finding,
    }


def _missed_item(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "kind": "missed", "item_id": f"missed-{row['id']}", "study_instance_uid": row["study_instance_uid"],
        "series_instance_uid": row["series_instance_uid"], "sop_instance_uid": row["sop_instance_uid"],
        "model": row["model"], "model_version": None, "label": row["label"], "score": None,
        "passes_operating_point": None, "verdict": "missed", "comment": row["comment"],
        "k": row["k"], "j": row["j"], "i": row["i"], "x_mm": row["x_mm"], "y_mm": row["y_mm"],
        "z_mm": row["z_mm"], **_box_columns({}), "created_at": row["added_at"], "verdict_at": row["added_at"],
        "finding": None,
    }


@dataclass(frozen=True)
class ExportedDataset:
    csv_path: Path
    json_path: Path
    n_findings: int
    n_missed: int


def export_dataset(db: FeedbackDB, out_dir: str | os.PathLike[str]) -> ExportedDataset:
    """Write ``feedback.csv`` and ``feedback.json`` into ``out_dir`` (created).

    One item per stored finding (``kind="finding"``; ``verdict`` = latest accept/reject/unsure or
    empty) and per radiologist-added finding (``kind="missed"``, ``verdict="missed"``, no score).
    Columns (CSV header = :data:`CSV_COLUMNS`; empty cell = unknown): UIDs of study, series and
    the slice (SOP Instance UID), model + version, label, score, passes_operating_point,
    verdict, comment, centre as voxel index ``k, j, i`` and LPS ``x_mm, y_mm, z_mm``, the box
    ``box_k0..box_i1`` (voxel index ranges, stop excluded), the size in mm, ``created_at``
    (analysis or click time) and ``verdict_at``.

    ``feedback.json``: ``{"format": "radsight-feedback", "version": 1, "disclaimer": ...,
    "exported_at": ..., "columns": [...], "items": [{<the CSV columns>, "finding": <the full
    Finding JSON or null>}]}``. Read either back with :func:`load_dataset`.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    items = db.dataset_items()
    csv_path, json_path = out / "feedback.csv", out / "feedback.json"
    with csv_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(items)
    document = {"format": EXPORT_FORMAT, "version": SCHEMA_VERSION, "disclaimer": DISCLAIMER,
                "exported_at": _iso(None), "columns": list(CSV_COLUMNS), "items": items}
    json_path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    n_missed = sum(item["kind"] == "missed" for item in items)
    return ExportedDataset(csv_path, json_path, len(items) - n_missed, n_missed)


_FLOATS = {"score", "k", "j", "i", "x_mm", "y_mm", "z_mm", "box_k0", "box_j0", "box_i0", "box_k1",
           "box_j1", "box_i1", "size_k_mm", "size_j_mm", "size_i_mm"}
_NULLABLE_TEXT = {"sop_instance_uid", "model", "model_version", "verdict", "verdict_at"}


def _typed_csv_value(name: str, text: str) -> Any:
    if name in _FLOATS:
        return float(text) if text != "" else None
    if name == "passes_operating_point":
        return {"True": True, "False": False}.get(text)
    if name in _NULLABLE_TEXT:
        return text or None
    return text


def load_dataset(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The items of an exported ``feedback.json`` or ``feedback.csv`` (typed; CSV items have no
    ``finding`` key) — the entry point for training code."""
    path = Path(path)
    if path.suffix == ".json":
        document = json.loads(path.read_text(encoding="utf-8"))
        if document.get("format") != EXPORT_FORMAT:
            raise FeedbackDBError(f"{path} is not a RadSight feedback export")
        return list(document["items"])
    with path.open(newline="", encoding="utf-8") as handle:
        return [{k: _typed_csv_value(k, v) for k, v in row.items()} for row in csv.DictReader(handle)]
