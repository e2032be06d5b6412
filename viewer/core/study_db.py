"""The study database: a SQLite index of patient → study → series → instance with file paths.

Lives in a folder (default: RadSight's data folder, see :mod:`viewer.core.storage_paths`) as
``studies.sqlite3`` beside the managed store ``store/`` (:mod:`viewer.core.study_store`).
Instances are filed one transaction per batch, always *after* their file is complete in its
final place, so a kill -9 at any moment leaves every row pointing at a whole file; filing the
same instance again updates its row (re-import is idempotent). Searching: patient name and ID
(case-insensitive, ``*`` wildcards, else substring), study date range, modality, and study or
series description. Names and IDs are stored to be searched and shown, never logged.

Schema (version :data:`SCHEMA_VERSION`)::

    patients(id, patient_id, patient_name, birth_date, sex)      UNIQUE(patient_id, patient_name)
    studies(study_instance_uid PK, patient → patients, study_date, study_time, study_description,
            accession_number, added_at)
    series(series_instance_uid PK, study_instance_uid → studies, modality, series_number,
           series_description, body_part_examined)
    instances(sop_instance_uid PK, series_instance_uid → series, sop_class_uid, instance_number,
              transfer_syntax_uid, path, size, managed, added_at)
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from viewer.core import storage_db
from viewer.core.storage_paths import data_dir
from viewer.core.study_records import InstanceRecord, SeriesRow, StoredInstance, StudyRow

SCHEMA_VERSION = 1
DB_FILE = "studies.sqlite3"
STORE_DIR = "store"

_SCHEMA = """
CREATE TABLE patients (
    id INTEGER PRIMARY KEY,
    patient_id TEXT NOT NULL,
    patient_name TEXT NOT NULL,
    birth_date TEXT NOT NULL DEFAULT '',
    sex TEXT NOT NULL DEFAULT '',
    UNIQUE (patient_id, patient_name)
);
CREATE TABLE studies (
    study_instance_uid TEXT PRIMARY KEY,
    patient INTEGER NOT NULL REFERENCES patients(id) ON DELETE CASCADE,
    study_date TEXT NOT NULL DEFAULT '',
    study_time TEXT NOT NULL DEFAULT '',
    study_description TEXT NOT NULL DEFAULT '',
    accession_number TEXT NOT NULL DEFAULT '',
    added_at TEXT NOT NULL
);
CREATE INDEX studies_patient ON studies(patient);
CREATE INDEX studies_date ON studies(study_date);
CREATE TABLE series (
    series_instance_uid TEXT PRIMARY KEY,
    study_instance_uid TEXT NOT NULL REFERENCES studies(study_instance_uid) ON DELETE CASCADE,
    modality TEXT NOT NULL DEFAULT '',
    series_number INTEGER,
    series_description TEXT NOT NULL DEFAULT '',
    body_part_examined TEXT NOT NULL DEFAULT ''
);
CREATE INDEX series_study ON series(study_instance_uid);
CREATE TABLE instances (
    sop_instance_uid TEXT PRIMARY KEY,
    series_instance_uid TEXT NOT NULL REFERENCES series(series_instance_uid) ON DELETE CASCADE,
    sop_class_uid TEXT NOT NULL DEFAULT '',
    instance_number INTEGER,
    transfer_syntax_uid TEXT NOT NULL DEFAULT '',
    path TEXT NOT NULL,
    size INTEGER NOT NULL DEFAULT 0,
    managed INTEGER NOT NULL DEFAULT 0,
    added_at TEXT NOT NULL
);
CREATE INDEX instances_series ON instances(series_instance_uid);
"""

_STUDY_ROWS = """
SELECT st.study_instance_uid, p.patient_id, p.patient_name, p.birth_date, st.study_date, st.study_time,
       st.study_description, st.accession_number,
       (SELECT GROUP_CONCAT(DISTINCT se2.modality) FROM series se2
        WHERE se2.study_instance_uid = st.study_instance_uid) AS modalities,
       (SELECT COUNT(*) FROM series se3 WHERE se3.study_instance_uid = st.study_instance_uid) AS n_series,
       (SELECT COUNT(*) FROM instances i JOIN series se4 ON se4.series_instance_uid = i.series_instance_uid
        WHERE se4.study_instance_uid = st.study_instance_uid) AS n_instances
FROM studies st JOIN patients p ON p.id = st.patient
"""


class StudyDBError(Exception):
    """A bad search argument, or an unknown study."""


@dataclass(frozen=True)
class StudyQuery:
    """Search terms; empty ones match everything. Dates are DICOM ``YYYYMMDD``, inclusive."""

    patient_name: str = ""
    patient_id: str = ""
    date_from: str = ""
    date_to: str = ""
    modality: str = ""
    description: str = ""


def _like(term: str) -> str:
    """User text → a LIKE pattern: ``*``/``?`` wildcards as given, else a substring match."""
    escaped = term.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    if "*" in escaped or "?" in escaped:
        return escaped.replace("*", "%").replace("?", "_")
    return f"%{escaped}%"


def _check_date(value: str, name: str) -> str:
    if value and not (len(value) == 8 and value.isdigit()):
        raise StudyDBError(f"{name} must be a date as YYYYMMDD, not {value!r}")
    return value


def _where(query: StudyQuery) -> tuple[str, list[Any]]:
    clauses, args = [], []
    if query.patient_name.strip():
        clauses.append("p.patient_name LIKE ? ESCAPE '\\'")
        args.append(_like(query.patient_name))
    if query.patient_id.strip():
        clauses.append("p.patient_id LIKE ? ESCAPE '\\'")
        args.append(_like(query.patient_id))
    if _check_date(query.date_from, "date_from"):
        clauses.append("st.study_date >= ?")
        args.append(query.date_from)
    if _check_date(query.date_to, "date_to"):
        clauses.append("st.study_date <> '' AND st.study_date <= ?")
        args.append(query.date_to)
    if query.modality.strip():
        clauses.append("EXISTS (SELECT 1 FROM series m WHERE m.study_instance_uid = st.study_instance_uid"
                       " AND UPPER(m.modality) = UPPER(?))")
        args.append(query.modality.strip())
    if query.description.strip():
        clauses.append("(st.study_description LIKE ? ESCAPE '\\' OR EXISTS (SELECT 1 FROM series d"
                       " WHERE d.study_instance_uid = st.study_instance_uid"
                       " AND d.series_description LIKE ? ESCAPE '\\'))")
        args += [_like(query.description)] * 2
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", args


def _study_row(row: Any) -> StudyRow:
    modalities = tuple(sorted(m for m in (row["modalities"] or "").split(",") if m))
    return StudyRow(row["study_instance_uid"], row["patient_id"], row["patient_name"], row["birth_date"],
                    row["study_date"], row["study_time"], row["study_description"],
                    row["accession_number"], modalities, int(row["n_series"]), int(row["n_instances"]))


def _stored(row: Any) -> StoredInstance:
    return StoredInstance(row["sop_instance_uid"], row["sop_class_uid"], row["series_instance_uid"],
                          row["study_instance_uid"], row["transfer_syntax_uid"], row["instance_number"],
                          Path(row["path"]), int(row["size"]), bool(row["managed"]))


class StudyDB:
    """The study database in ``folder`` (created). Safe to share between threads."""

    def __init__(self, folder: str | os.PathLike[str] | None = None) -> None:
        self.folder = Path(folder) if folder is not None else data_dir()
        self.path = self.folder / DB_FILE
        self.store_dir = self.folder / STORE_DIR
        self._conn = storage_db.connect(self.path, shared_between_threads=True)
        storage_db.migrate(self._conn, self.path, SCHEMA_VERSION, _SCHEMA)
        self._lock = threading.RLock()

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> StudyDB:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        with self._lock, self._conn:
            yield self._conn

    # --- writing ----------------------------------------------------------------------------
    def add_instances(self, records: Iterable[InstanceRecord]) -> int:
        """File (or re-file) instances in one transaction; returns how many."""
        count = 0
        with self._transaction() as conn:
            now = storage_db.iso_utc()
            for record in records:
                _file_instance(conn, record, now)
                count += 1
        return count

    def delete_study(self, study_instance_uid: str) -> list[StoredInstance]:
        """Remove a study's rows (and its patient's when it was the last study); returns its
        instances so that the caller can remove managed files after the rows are gone."""
        instances = self.instances(study_instance_uid=study_instance_uid)
        with self._transaction() as conn:
            found = conn.execute("SELECT patient FROM studies WHERE study_instance_uid = ?",
                                 (study_instance_uid,)).fetchone()
            if found is None:
                raise StudyDBError("no such study in the database")
            conn.execute("DELETE FROM studies WHERE study_instance_uid = ?", (study_instance_uid,))
            conn.execute("DELETE FROM patients WHERE id = ? AND NOT EXISTS"
                         " (SELECT 1 FROM studies WHERE patient = ?)", (found[0], found[0]))
        return instances

    # --- reading ----------------------------------------------------------------------------
    def _rows(self, sql: str, args: Iterable[Any] = ()) -> list[Any]:
        with self._lock:
            return self._conn.execute(sql, tuple(args)).fetchall()

    def studies(self, query: StudyQuery | None = None) -> list[StudyRow]:
        """Studies matching ``query`` (all without one), newest study date first."""
        where, args = _where(query or StudyQuery())
        sql = _STUDY_ROWS + where + " ORDER BY st.study_date DESC, p.patient_name, st.study_instance_uid"
        return [_study_row(row) for row in self._rows(sql, args)]

    def study(self, study_instance_uid: str) -> StudyRow | None:
        rows = self._rows(_STUDY_ROWS + " WHERE st.study_instance_uid = ?", (study_instance_uid,))
        return _study_row(rows[0]) if rows else None

    def series(self, study_instance_uid: str) -> list[SeriesRow]:
        rows = self._rows(
            "SELECT se.*, (SELECT COUNT(*) FROM instances i WHERE i.series_instance_uid ="
            " se.series_instance_uid) AS n FROM series se WHERE se.study_instance_uid = ?"
            " ORDER BY se.series_number, se.series_instance_uid", (study_instance_uid,))
        return [SeriesRow(r["series_instance_uid"], r["study_instance_uid"], r["modality"],
                          r["series_number"], r["series_description"], r["body_part_examined"], int(r["n"]))
                for r in rows]

    def instances(self, study_instance_uid: str | None = None,
                  series_instance_uid: str | None = None) -> list[StoredInstance]:
        """Instances of a study or a series (every one without either), in instance number order."""
        sql = ("SELECT i.*, se.study_instance_uid FROM instances i"
               " JOIN series se ON se.series_instance_uid = i.series_instance_uid")
        clauses, args = [], []
        if study_instance_uid is not None:
            clauses.append("se.study_instance_uid = ?")
            args.append(study_instance_uid)
        if series_instance_uid is not None:
            clauses.append("i.series_instance_uid = ?")
            args.append(series_instance_uid)
        where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
        order = (" ORDER BY se.study_instance_uid, i.series_instance_uid, i.instance_number,"
                 " i.sop_instance_uid")
        return [_stored(row) for row in self._rows(sql + where + order, args)]

    def representative_instance(self, study_instance_uid: str) -> StoredInstance | None:
        """The middle instance (by instance number) of the study's largest series: what the Database
        list shows as the study's thumbnail (None for a study without instances)."""
        series = self.series(study_instance_uid)
        if not series:
            return None
        largest = max(series, key=lambda s: s.n_instances)
        instances = self.instances(series_instance_uid=largest.series_instance_uid)
        return instances[len(instances) // 2] if instances else None

    def instance(self, sop_instance_uid: str) -> StoredInstance | None:
        rows = self._rows("SELECT i.*, se.study_instance_uid FROM instances i JOIN series se"
                          " ON se.series_instance_uid = i.series_instance_uid WHERE i.sop_instance_uid = ?",
                          (sop_instance_uid,))
        return _stored(rows[0]) if rows else None

    def counts(self) -> dict[str, int]:
        """Rows per table."""
        return {t: int(self._rows(f"SELECT COUNT(*) FROM {t}")[0][0])
                for t in ("patients", "studies", "series", "instances")}

    def problems(self) -> list[str]:
        """What is inconsistent: rows whose file is missing or of another size, and a failed
        SQLite integrity check. Empty when the database is consistent."""
        found = [f"{p}" for p in (row[0] for row in self._rows("PRAGMA integrity_check")) if p != "ok"]
        for inst in self.instances():
            if not inst.path.is_file():
                found.append(f"missing file for an instance: {inst.path}")
            elif inst.size and inst.path.stat().st_size != inst.size:
                found.append(f"file of another size than filed: {inst.path}")
        return found


def _upsert(table: str, key: str, columns: tuple[str, ...], keep: tuple[str, ...] = ()) -> str:
    """INSERT of ``columns``; on a conflict on ``key`` update every column except ``keep``."""
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c != key and c not in keep)
    marks = ", ".join("?" * len(columns))
    return (f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
            f" ON CONFLICT ({key}) DO UPDATE SET {updates}")


_UPSERT_PATIENT = _upsert("patients", "patient_id, patient_name",
                          ("patient_id", "patient_name", "birth_date", "sex"), keep=("patient_name",))
_UPSERT_STUDY = _upsert("studies", "study_instance_uid",
                        ("study_instance_uid", "patient", "study_date", "study_time", "study_description",
                         "accession_number", "added_at"), keep=("added_at",))
_UPSERT_SERIES = _upsert("series", "series_instance_uid",
                         ("series_instance_uid", "study_instance_uid", "modality", "series_number",
                          "series_description", "body_part_examined"))
_UPSERT_INSTANCE = _upsert("instances", "sop_instance_uid",
                           ("sop_instance_uid", "series_instance_uid", "sop_class_uid", "instance_number",
                            "transfer_syntax_uid", "path", "size", "managed", "added_at"), keep=("added_at",))


def _file_instance(conn: Any, r: InstanceRecord, now: str) -> None:
    conn.execute(_UPSERT_PATIENT, (r.patient_id, r.patient_name, r.patient_birth_date, r.patient_sex))
    patient = conn.execute("SELECT id FROM patients WHERE patient_id = ? AND patient_name = ?",
                           (r.patient_id, r.patient_name)).fetchone()[0]
    conn.execute(_UPSERT_STUDY, (r.study_instance_uid, patient, r.study_date, r.study_time,
                                 r.study_description, r.accession_number, now))
    conn.execute(_UPSERT_SERIES, (r.series_instance_uid, r.study_instance_uid, r.modality, r.series_number,
                                  r.series_description, r.body_part_examined))
    conn.execute(_UPSERT_INSTANCE, (r.sop_instance_uid, r.series_instance_uid, r.sop_class_uid,
                                    r.instance_number, r.transfer_syntax_uid, r.path, r.size, int(r.managed),
                                    now))
