"""The AI feedback store's records: what its queries return, and the small helpers they share.

No patient names or IDs: UIDs, model names, scores, coordinates and verdicts only.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal

from viewer.core.storage_db import StorageError, iso_utc

VERDICTS = ("accept", "reject", "unsure")
Bin = Literal["day", "week"]


class FeedbackDBError(StorageError):
    """The database cannot be used (written by a newer RadSight, or a bad argument)."""


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(at: datetime | None) -> str:
    return iso_utc(at)


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def triple(values: Sequence[float] | None) -> tuple[float | None, float | None, float | None]:
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


# A stored finding (alias ``f``) is *marked* (Finding.marked) when it passes its model's operating point and
# no other marking rule of the model (``hidden_by``, e.g. a per-scan cap) hides it; ``hidden_by`` lives in
# the finding's JSON (no column: databases written before it was counted need no migration).
MARKED_SQL = "(f.passes_operating_point AND COALESCE(json_extract(f.finding_json, '$.hidden_by'), '') = '')"


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
    n_marked: int  # findings marked: past the operating point and not hidden by another rule (per-scan cap)
    max_score: float | None
    max_marked_score: float | None


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


def feedback_from_row(row: sqlite3.Row) -> Feedback:
    return Feedback(row["finding_uid"], row["verdict"], row["comment"], parse_time(row["given_at"]))


def analysis_from_row(row: sqlite3.Row) -> Analysis:
    return Analysis(int(row["id"]), row["study_instance_uid"], row["series_instance_uid"], row["model"],
                    row["model_version"], row["provider"], row["seconds"], parse_time(row["analysed_at"]))


def point_from_row(row: sqlite3.Row, names: tuple[str, str, str]) -> tuple[float, float, float] | None:
    values = [row[n] for n in names]
    return None if any(v is None for v in values) else (float(values[0]), float(values[1]), float(values[2]))


def missed_from_row(row: sqlite3.Row) -> MissedFinding:
    return MissedFinding(int(row["id"]), row["study_instance_uid"], row["series_instance_uid"],
                         row["sop_instance_uid"], row["label"], point_from_row(row, ("k", "j", "i")),
                         point_from_row(row, ("x_mm", "y_mm", "z_mm")), row["model"], row["comment"],
                         parse_time(row["added_at"]))


def summary_from_row(row: sqlite3.Row) -> StudySummary:
    models = tuple(sorted(set((row["models"] or "").split(","))))
    return StudySummary(row["study_instance_uid"], parse_time(row["last_analysed_at"]), models,
                        int(row["n_findings"]), int(row["n_marked"]), row["max_score"],
                        row["max_marked_score"])
