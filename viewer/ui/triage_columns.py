"""Triage in the study browser: "AI" and "AI score" columns per study, flagged studies in red
and bold, and sorting by urgency (flagged first, then by highest score).

Works on ``viewer.ui.study_browser.StudyBrowser`` as it is (a QTreeWidget whose study rows hold
their largest ``SeriesRecord`` in ``data(0, UserRole)``)::

    triage = refresh_triage(window.browser, db)   # after set_index and after every Analyze
    sort_by_triage(window.browser, triage)        # e.g. from a "Sort by AI" action
"""

from __future__ import annotations

from collections.abc import Iterator

from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import QTreeWidget, QTreeWidgetItem

from viewer.core.feedback_db import FeedbackDB
from viewer.core.triage import AIStatus, StudyTriage, triage_studies
from viewer.ui.study_browser import _SERIES_ROLE, COLUMNS

AI_COLUMNS = ("AI", "AI score")
AI_COLUMN, SCORE_COLUMN = len(COLUMNS), len(COLUMNS) + 1
FLAG_COLOUR = QColor(200, 0, 0)


def study_rows(browser: QTreeWidget) -> Iterator[tuple[QTreeWidgetItem, str]]:
    """(study row, StudyInstanceUID) for every study in the browser."""
    for p in range(browser.topLevelItemCount()):
        patient = browser.topLevelItem(p)
        for s in range(patient.childCount()):
            study = patient.child(s)
            series = study.data(0, _SERIES_ROLE)
            if series is not None:
                yield study, series.study_instance_uid


def ensure_columns(browser: QTreeWidget) -> None:
    if browser.columnCount() < SCORE_COLUMN + 1:
        browser.setColumnCount(SCORE_COLUMN + 1)
        browser.setHeaderLabels([*COLUMNS, *AI_COLUMNS])


def show_triage(browser: QTreeWidget, triage: dict[str, StudyTriage]) -> None:
    """Fill the AI columns of every study row from ``triage`` (by StudyInstanceUID)."""
    ensure_columns(browser)
    for row, uid in study_rows(browser):
        entry = triage.get(uid, StudyTriage(uid, AIStatus.NOT_ANALYSED))
        row.setText(AI_COLUMN, entry.status.label)
        row.setText(SCORE_COLUMN, entry.score_text)
        row.setToolTip(AI_COLUMN, entry.text)
        flagged = entry.status is AIStatus.FLAGGED
        for column in (0, AI_COLUMN, SCORE_COLUMN):
            font = QFont(row.font(column))
            font.setBold(flagged)
            row.setFont(column, font)
            row.setForeground(column, QBrush(FLAG_COLOUR) if flagged else QBrush())
    browser.resizeColumnToContents(AI_COLUMN)
    browser.resizeColumnToContents(SCORE_COLUMN)


def refresh_triage(browser: QTreeWidget, db: FeedbackDB,
                   flag_at: float | None = None) -> dict[str, StudyTriage]:
    """Read the triage of the browser's studies from ``db`` and show it; returns it."""
    triage = triage_studies(db, [uid for _, uid in study_rows(browser)], flag_at)
    show_triage(browser, triage)
    return triage


def _urgency(triage: dict[str, StudyTriage], uid: str) -> tuple[int, float]:
    entry = triage.get(uid)
    return entry.sort_key() if entry is not None else (0, 1.0)


def sort_by_triage(browser: QTreeWidget, triage: dict[str, StudyTriage]) -> None:
    """Reorder studies within each patient, and patients, most urgent first (stable)."""
    patients = [browser.takeTopLevelItem(0) for _ in range(browser.topLevelItemCount())]
    keyed = []
    for patient in patients:
        studies = [patient.takeChild(0) for _ in range(patient.childCount())]
        studies.sort(key=lambda item: _urgency(triage, item.data(0, _SERIES_ROLE).study_instance_uid))
        patient.addChildren(studies)
        best = min((_urgency(triage, s.data(0, _SERIES_ROLE).study_instance_uid) for s in studies),
                   default=(0, 1.0))
        keyed.append((best, patient))
    keyed.sort(key=lambda pair: pair[0])
    browser.addTopLevelItems([patient for _, patient in keyed])
    for _, patient in keyed:
        patient.setExpanded(True)
        for s in range(patient.childCount()):
            patient.child(s).setExpanded(True)
