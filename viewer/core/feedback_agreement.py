"""Agreement of each AI model with the radiologists' latest verdicts, per day or ISO week.

The model *agrees* when a finding it marked (past the operating point and not hidden by another of the
model's rules, e.g. a per-scan cap) is accepted, or one it did not mark is rejected; *disagrees* for the
other two; "unsure" is counted but not in the rate.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime, timedelta

from viewer.core.feedback_records import MARKED_SQL, AgreementBin, Bin, FeedbackDBError, parse_time

VERDICT_ROWS = f"""SELECT a.model, {MARKED_SQL} AS marked, fb.verdict, fb.given_at
FROM feedback fb JOIN findings f ON f.finding_uid = fb.finding_uid JOIN analyses a ON a.id = f.analysis_id
WHERE fb.id = (SELECT x.id FROM feedback x WHERE x.finding_uid = fb.finding_uid
               ORDER BY x.given_at DESC, x.id DESC LIMIT 1)
"""


def bin_start(at: datetime, bin: Bin) -> date:
    """First day of the day / ISO week (Monday) holding ``at`` (UTC)."""
    day = at.astimezone(UTC).date()
    if bin == "day":
        return day
    if bin == "week":
        return day - timedelta(days=day.weekday())
    raise FeedbackDBError(f"bin must be 'day' or 'week', not {bin!r}")


def _agreement_slot(verdict: str, marked: bool) -> int:
    """0 agree, 1 disagree, 2 unsure."""
    if verdict == "unsure":
        return 2
    return 0 if (verdict == "accept") == marked else 1


def tally_agreement(conn: sqlite3.Connection, bin: Bin, model: str | None) -> list[AgreementBin]:
    """Per model and bin: agree / disagree / unsure (sorted by model, then time)."""
    counts: dict[tuple[str, date], list[int]] = {}
    for row in conn.execute(VERDICT_ROWS):
        if model is not None and row["model"] != model:
            continue
        key = (row["model"], bin_start(parse_time(row["given_at"]), bin))
        slot = counts.setdefault(key, [0, 0, 0])
        slot[_agreement_slot(row["verdict"], bool(row["marked"]))] += 1
    return [AgreementBin(m, start, *counts[(m, start)]) for m, start in sorted(counts)]
