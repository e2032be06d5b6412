"""The findings panel: what the AI found on the open series, and the radiologist's answers.

One row per finding: label, model, score, where it stands against the operating point ("marked:
≥ t", "≥ t, not marked: <rule>" when another marking rule of the model hid it, "< t"), size, slice
and location, the latest verdict. Filters: model, minimum score, "marked findings only".
Below the table: a comment field, Accept / Reject / Unsure (written to the feedback database
with the comment), and "Add missed finding" (a checkable mode: the integration turns the next
click in a slice view into :meth:`FindingsPanel.add_missed`).

Signals:

* ``finding_activated(Finding)`` - a row was clicked (or selected with the keyboard): jump every
  view to it (``Finding.center_kji``) and select it in the overlay;
* ``feedback_given(Finding, str verdict, str comment)`` - after it was stored;
* ``missed_mode_changed(bool)`` - "add missed finding" mode on/off;
* ``missed_added(int)`` - the database id of a missed finding just stored.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ai.findings import Finding
from viewer.analysis.operating_point import operating_point_words, rule_words
from viewer.core.feedback_db import Feedback, FeedbackDB, FeedbackDBError

COLUMNS = ("Finding", "Score", "Operating point", "Feedback", "Size", "Location", "Model")
FEEDBACK_COLUMN = 3
ALL_MODELS = "All models"
_ROLE = Qt.ItemDataRole.UserRole
_VERDICT_TEXT = {"accept": "accepted", "reject": "rejected", "unsure": "unsure"}


def size_text(finding: Finding) -> str:
    """"12.0 × 9.5 × 10.1 mm" (slice × row × column extent; rows × columns for one slice)."""
    if finding.size_mm is None:
        return ""
    unit = "mm" if finding.center_mm is not None else "px"
    dk, dj, di = finding.size_mm
    flat = finding.box_kji is not None and finding.box_kji[3] - finding.box_kji[0] <= 1
    values = (dj, di) if flat else (dk, dj, di)
    return " × ".join(f"{v:.1f}" for v in values) + f" {unit}"


def location_text(finding: Finding, n_slices: int | None = None) -> str:
    """"slice 88/275 · (x, y, z) mm" or, without geometry, "row 47, col 23 px"."""
    if finding.center_kji is None:
        return ""
    k, j, i = finding.center_kji
    parts = []
    if n_slices is None or n_slices > 1:
        parts.append(f"slice {round(k) + 1}" + (f"/{n_slices}" if n_slices else ""))
    if finding.center_mm is not None:
        parts.append("({:.1f}, {:.1f}, {:.1f}) mm".format(*finding.center_mm))
    else:
        parts.append(f"row {j:.0f}, col {i:.0f} px")
    return " · ".join(parts)


def status_text(findings: Sequence[Finding], shown: int) -> str:
    """"N finding(s), M marked; K more ≥ their threshold not marked by <rule>; S shown"."""
    marked = sum(f.marked for f in findings)
    text = f"{len(findings)} finding(s), {marked} marked (score ≥ operating point)"
    hidden = [f for f in findings if f.passes_operating_point and f.hidden_by]
    if hidden:
        rules = ", ".join(sorted({rule_words(f.hidden_by or "") for f in hidden}))
        text += f"; {len(hidden)} more ≥ it not marked by rule: {rules}"
    return f"{text}; {shown} shown"


def marked_colour(background: QColor) -> QColor:
    """Red for "marked" text that keeps ≥ 4.5:1 contrast: light red on a dark table, dark red on a
    light one."""
    return QColor(255, 130, 130) if background.lightness() < 128 else QColor(160, 0, 0)


def feedback_text(feedback: Feedback | None) -> str:
    if feedback is None:
        return ""
    text = _VERDICT_TEXT[feedback.verdict]
    return f"{text}: {feedback.comment}" if feedback.comment else text


def stored_findings(db: FeedbackDB, series_instance_uid: str) -> list[Finding]:
    """The findings of the latest analyses stored for a series (to show them after a restart)."""
    return [Finding.from_dict(s.finding) for s in db.latest_findings(series_instance_uid)]


class FindingsPanel(QWidget):
    """See the module docstring."""

    finding_activated = Signal(object)
    feedback_given = Signal(object, str, str)
    missed_mode_changed = Signal(bool)
    missed_added = Signal(int)

    def __init__(self, db: FeedbackDB | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.db = db
        self.findings: list[Finding] = []
        self.rules: dict[str, str] = {}  # marking rule name → what it does (tooltips)
        self.n_slices: int | None = None
        self._feedback: dict[str, Feedback | None] = {}
        self._build()

    # --- construction ---------------------------------------------------------------------
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(self._build_filters())
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(COLUMNS.index("Location"), QHeaderView.ResizeMode.Stretch)
        header.setStretchLastSection(False)  # (the Model column took half the width)
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.itemSelectionChanged.connect(self._on_selection)
        self.table.itemClicked.connect(self._on_click)
        self.table.viewport().installEventFilter(self)
        self._selected_at_press: str | None = None
        layout.addWidget(self.table, 1)
        layout.addLayout(self._build_feedback())
        layout.addLayout(self._build_missed())
        self.status = QLabel("No analysis yet", self)
        layout.addWidget(self.status)

    def _build_filters(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.model_filter = QComboBox(self)
        self.model_filter.addItem(ALL_MODELS)
        self.model_filter.currentTextChanged.connect(self._refill)
        self.threshold = QDoubleSpinBox(self)
        self.threshold.setRange(0.0, 1.0)
        self.threshold.setSingleStep(0.05)
        self.threshold.setDecimals(2)
        self.threshold.setPrefix("score ≥ ")
        self.threshold.valueChanged.connect(self._refill)
        self.only_passing = QCheckBox("marked findings only", self)
        self.only_passing.setToolTip("Findings whose score is at or above the model's operating point and "
                                     "that no other marking rule of the model (e.g. a per-scan cap) hid")
        self.only_passing.toggled.connect(self._refill)
        for widget in (self.model_filter, self.threshold, self.only_passing):
            row.addWidget(widget)
        row.addStretch(1)
        return row

    def _build_feedback(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.comment = QLineEdit(self)
        self.comment.setPlaceholderText("Comment (optional; no patient names)")
        row.addWidget(self.comment, 1)
        self.buttons: dict[str, QPushButton] = {}
        for verdict, text in (("accept", "Accept"), ("reject", "Reject"), ("unsure", "Unsure")):
            button = QPushButton(text, self)
            button.clicked.connect(lambda _=False, v=verdict: self.give_feedback(v))
            row.addWidget(button)
            self.buttons[verdict] = button
        return row

    def _build_missed(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.missed_button = QPushButton("Add missed finding", self)
        self.missed_button.setCheckable(True)
        self.missed_button.setToolTip("Then click on the missed finding in a slice view")
        self.missed_button.toggled.connect(self.missed_mode_changed.emit)
        self.missed_label = QLineEdit("nodule", self)
        self.missed_label.setPlaceholderText("label of the missed finding")
        row.addWidget(self.missed_button)
        row.addWidget(self.missed_label, 1)
        return row

    # --- content --------------------------------------------------------------------------
    def set_findings(self, findings: Sequence[Finding], n_slices: int | None = None) -> None:
        """Show these findings (best score first), with the verdicts already in the database."""
        self.findings = sorted(findings, key=lambda f: -f.score)
        self.n_slices = n_slices
        self._feedback = {f.id: self.db.feedback_for(f.id) if self.db else None for f in self.findings}
        models = sorted({f.model for f in self.findings})
        self.model_filter.blockSignals(True)
        self.model_filter.clear()
        self.model_filter.addItems([ALL_MODELS, *models])
        self.model_filter.blockSignals(False)
        self._refill()

    def set_rules(self, rules: dict[str, str]) -> None:
        """What each model's marking rules do, in words (name → description), for the tooltips."""
        self.rules = dict(rules)
        self._refill()

    def clear(self) -> None:
        self.set_findings([])
        self.status.setText("No analysis yet")

    def visible_findings(self) -> list[Finding]:
        """The findings that pass the filters, in table order."""
        model = self.model_filter.currentText()
        floor = self.threshold.value()
        return [f for f in self.findings
                if (model in ("", ALL_MODELS) or f.model == model) and f.score >= floor - 1e-9
                and (f.marked or not self.only_passing.isChecked())]

    def _refill(self) -> None:
        selected = self.current_finding()
        self.table.blockSignals(True)
        self.table.setRowCount(0)
        for finding in self.visible_findings():
            self._add_row(finding)
        self.table.blockSignals(False)
        if selected is not None:
            self.select(selected.id, emit=False)
        self.status.setText(status_text(self.findings, len(self.visible_findings())))

    def _add_row(self, finding: Finding) -> None:
        row = self.table.rowCount()
        self.table.insertRow(row)
        values = (finding.label, f"{finding.score:.3f}", operating_point_words(finding, short=True),
                  feedback_text(self._feedback.get(finding.id)), size_text(finding),
                  location_text(finding, self.n_slices), f"{finding.model} {finding.model_version}")
        for column, text in enumerate(values):
            item = QTableWidgetItem(text)
            item.setData(_ROLE, finding.id)
            if column == 2 and finding.marked:
                item.setForeground(marked_colour(self.table.palette().color(QPalette.ColorRole.Base)))
            if column == 2 and finding.hidden_by:
                item.setToolTip(self.rules.get(finding.hidden_by, rule_words(finding.hidden_by)))
            self.table.setItem(row, column, item)

    def _finding(self, finding_id: str) -> Finding | None:
        return next((f for f in self.findings if f.id == finding_id), None)

    def row_of(self, finding_id: str) -> int | None:
        for row in range(self.table.rowCount()):
            if self.table.item(row, 0).data(_ROLE) == finding_id:
                return row
        return None

    # --- selection ------------------------------------------------------------------------
    def current_finding(self) -> Finding | None:
        items = self.table.selectedItems()
        return self._finding(items[0].data(_ROLE)) if items else None

    def select(self, finding_id: str, emit: bool = True) -> None:
        row = self.row_of(finding_id)
        if row is None:
            return
        self.table.blockSignals(not emit)
        self.table.selectRow(row)
        self.table.blockSignals(False)

    def _on_selection(self) -> None:
        finding = self.current_finding()
        if finding is not None:
            self.finding_activated.emit(finding)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt API)
        if watched is self.table.viewport() and event.type() == QEvent.Type.MouseButtonPress:
            current = self.current_finding()
            self._selected_at_press = current.id if current else None
        return super().eventFilter(watched, event)

    def _on_click(self, item: QTableWidgetItem) -> None:
        """A click on the already selected row jumps again (the views may have moved since);
        a click that selects a row is reported once, by the selection change."""
        finding = self._finding(item.data(_ROLE))
        if finding is not None and finding.id == self._selected_at_press:
            self.finding_activated.emit(finding)

    # --- feedback -------------------------------------------------------------------------
    def verdict_of(self, finding_id: str) -> Feedback | None:
        return self._feedback.get(finding_id)

    def give_feedback(self, verdict: str, finding: Finding | None = None) -> Feedback | None:
        """Store ``verdict`` (+ the comment field) for ``finding`` (default: the selected one)."""
        finding = finding or self.current_finding()
        if finding is None or self.db is None:
            self.status.setText("Select a finding first" if finding is None else "No feedback database")
            return None
        comment = self.comment.text().strip()
        try:
            feedback = self.db.set_feedback(finding.id, verdict, comment)
        except FeedbackDBError as exc:
            self.status.setText(str(exc))
            return None
        self._feedback[finding.id] = feedback
        row = self.row_of(finding.id)
        if row is not None:
            self.table.item(row, FEEDBACK_COLUMN).setText(feedback_text(feedback))
        self.comment.clear()
        self.feedback_given.emit(finding, verdict, comment)
        return feedback

    @property
    def missed_mode(self) -> bool:
        return self.missed_button.isChecked()

    def set_missed_mode(self, on: bool) -> None:
        self.missed_button.setChecked(on)

    def add_missed(self, study_instance_uid: str, series_instance_uid: str,
                   center_kji: Sequence[float], center_mm: Sequence[float] | None = None,
                   sop_instance_uid: str | None = None, model: str | None = None) -> int | None:
        """Store a radiologist-added finding at a clicked point (label and comment from the
        fields); ends the "add missed finding" mode. Returns its database id."""
        if self.db is None:
            self.status.setText("No feedback database")
            return None
        label = self.missed_label.text().strip() or "finding"
        missed_id = self.db.add_missed(study_instance_uid, series_instance_uid, label, center_kji, center_mm,
                                       sop_instance_uid, model, self.comment.text().strip())
        self.comment.clear()
        self.set_missed_mode(False)
        self.status.setText(f"Missed {label} added at slice {round(float(center_kji[0])) + 1}")
        self.missed_added.emit(missed_id)
        return missed_id
