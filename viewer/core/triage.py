"""Per-study AI status for the study browser: not analysed / analysed / flagged, and the top score.

A study is **flagged** when the latest run of some model on one of its series has a finding that
model marked — past its operating point and not hidden by another of its rules, e.g. a per-scan cap
(or, when ``flag_at`` is given, one scoring at least that).
Sorting puts flagged studies first, then analysed ones, each by highest score, then the rest.

    triage = triage_studies(db, [study.study_instance_uid for study in index.studies])
    for uid in sort_studies(triage): ...   # flagged first
    triage[uid].text                       # "2 findings marked (max 0.91)"
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum

from viewer.core.feedback_db import FeedbackDB, StudySummary


class AIStatus(IntEnum):
    """Ordered by urgency (a higher value sorts first)."""

    NOT_ANALYSED = 0
    ANALYSED = 1
    FLAGGED = 2

    @property
    def label(self) -> str:
        return {AIStatus.NOT_ANALYSED: "not analysed", AIStatus.ANALYSED: "analysed",
                AIStatus.FLAGGED: "AI finding"}[self]


@dataclass(frozen=True)
class StudyTriage:
    """What the study browser shows in its AI columns for one study."""

    study_instance_uid: str
    status: AIStatus
    max_score: float | None = None
    n_flagged: int = 0
    n_findings: int = 0
    models: tuple[str, ...] = ()
    analysed_at: datetime | None = None

    @property
    def score_text(self) -> str:
        return "" if self.max_score is None else f"{self.max_score:.2f}"

    @property
    def text(self) -> str:
        """One line in plain words."""
        if self.status is AIStatus.NOT_ANALYSED:
            return "not analysed"
        if self.status is AIStatus.FLAGGED:
            noun = "finding" if self.n_flagged == 1 else "findings"
            return f"{self.n_flagged} {noun} marked (max {self.max_score:.2f})"
        if self.n_findings:
            return f"analysed: nothing marked (max {self.max_score:.2f})"
        return "analysed: no findings"

    def sort_key(self) -> tuple[int, float]:
        """Ascending sort = most urgent first."""
        return (-int(self.status), -(self.max_score if self.max_score is not None else -1.0))


def triage_of(uid: str, summary: StudySummary | None, flag_at: float | None = None) -> StudyTriage:
    """The triage of one study from its summary (None = never analysed)."""
    if summary is None:
        return StudyTriage(uid, AIStatus.NOT_ANALYSED)
    n_flagged = summary.n_marked
    if flag_at is not None and summary.max_score is not None and summary.max_score >= flag_at:
        n_flagged = max(n_flagged, 1)
    status = AIStatus.FLAGGED if n_flagged else AIStatus.ANALYSED
    return StudyTriage(uid, status, summary.max_score, n_flagged, summary.n_findings, summary.models,
                       summary.last_analysed_at)


def triage_studies(db: FeedbackDB, study_instance_uids: Iterable[str],
                   flag_at: float | None = None) -> dict[str, StudyTriage]:
    """Triage of each study (in the given order), from the latest analyses stored in ``db``."""
    uids = list(dict.fromkeys(study_instance_uids))
    summaries = db.study_summaries(uids)
    return {uid: triage_of(uid, summaries.get(uid), flag_at) for uid in uids}


def sort_studies(triage: dict[str, StudyTriage]) -> list[str]:
    """Study UIDs, most urgent first (stable for ties: the given order is kept)."""
    return sorted(triage, key=lambda uid: triage[uid].sort_key())


def flagged(triage: dict[str, StudyTriage]) -> list[str]:
    return [uid for uid in sort_studies(triage) if triage[uid].status is AIStatus.FLAGGED]
