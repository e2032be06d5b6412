"""The study browser: patients → studies → series of an indexed folder; double-click opens.
:class:`DatabaseStudyList` lists and searches the studies of the study database."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QGridLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from viewer.core.dicom_index import DicomIndex, SeriesRecord, StudyRecord
from viewer.core.study_db import StudyDB, StudyDBError, StudyQuery
from viewer.ui.column_fit import ColumnFit

COLUMNS = ("Patient / series", "Date", "Modality", "Description", "Images")
#: Shown whole in this order while they fit the dock's width (the AI columns come with triage).
COLUMN_PRIORITY = ("Modality", "AI", "AI score", "Images", "Date", "Description")
MODALITY_COLUMN = COLUMNS.index("Modality")
_SERIES_ROLE = Qt.ItemDataRole.UserRole


def format_date(value: str) -> str:
    """DICOM DA ``YYYYMMDD`` → ``YYYY-MM-DD`` (anything else unchanged)."""
    return f"{value[:4]}-{value[4:6]}-{value[6:8]}" if len(value) == 8 and value.isdigit() else value


def series_title(series: SeriesRecord) -> str:
    number = series.descriptor.series_number
    name = series.descriptor.series_description or series.modality
    return f"#{number} {name}" if number is not None else name


class StudyBrowser(QTreeWidget):
    """Tree of what a folder holds; emits ``series_activated(SeriesRecord)`` on double-click."""

    series_activated = Signal(object)
    index_shown = Signal(object)  # the DicomIndex, once its rows are in the tree

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setColumnCount(len(COLUMNS))
        self.setHeaderLabels(list(COLUMNS))
        self.setAlternatingRowColors(True)
        self.setUniformRowHeights(True)
        self.itemDoubleClicked.connect(self._on_double_click)
        self.index: DicomIndex | None = None
        self.column_fit = ColumnFit(self, COLUMNS[0], COLUMN_PRIORITY)

    def set_index(self, index: DicomIndex) -> None:
        self.clear()
        self.index = index
        for patient in index.patients:
            first = patient.studies[0].descriptor if patient.studies else None
            name = (first.patient_name or first.patient_id if first else "") or "(no name)"
            top = QTreeWidgetItem([name, "", "", "", ""])
            self.addTopLevelItem(top)
            for study in patient.studies:
                item = self._study_item(study)
                top.addChild(item)
                item.setExpanded(True)  # only effective once the item is in the tree
            top.setExpanded(True)
        for column in range(len(COLUMNS)):
            self.resizeColumnToContents(column)
        self.index_shown.emit(index)

    def _study_item(self, study: StudyRecord) -> QTreeWidgetItem:
        d = study.descriptor
        item = QTreeWidgetItem(["Study", format_date(d.study_date), "/".join(study.modalities),
                                d.study_description, str(study.image_count)])
        largest = max(study.series, key=lambda s: s.frame_count)
        item.setData(0, _SERIES_ROLE, largest)
        for series in study.series:
            child = QTreeWidgetItem([series_title(series), format_date(series.descriptor.study_date),
                                     series.modality, series.summary(), str(series.frame_count)])
            child.setData(0, _SERIES_ROLE, series)
            child.setToolTip(0, series_title(series))  # whole, where a narrow column elides it
            item.addChild(child)
        return item

    def show_declared_modality(self, series: SeriesRecord | None, kind: str | None) -> None:
        """Show what the reader declared ``series`` (a plain image) to show, e.g. "DX (declared)";
        every other series shows its own modality again (a declaration holds for one image)."""
        for item in self.series_items():
            record = item.data(0, _SERIES_ROLE)
            declared = kind and series is not None and record.key == series.key
            item.setText(MODALITY_COLUMN, f"{kind} (declared)" if declared else record.modality)
            study = item.parent()
            texts = [study.child(c).text(MODALITY_COLUMN) for c in range(study.childCount())]
            study.setText(MODALITY_COLUMN, "/".join(dict.fromkeys(texts)))

    def series_items(self) -> list[QTreeWidgetItem]:
        """The series rows (for tests and keyboard navigation)."""
        out = []
        for t in range(self.topLevelItemCount()):
            top = self.topLevelItem(t)
            for s in range(top.childCount()):
                study = top.child(s)
                out.extend(study.child(c) for c in range(study.childCount()))
        return out

    def _on_double_click(self, item: QTreeWidgetItem, column: int) -> None:
        series = item.data(0, _SERIES_ROLE)
        if series is not None:
            self.series_activated.emit(series)


DB_COLUMNS = ("Patient", "Patient ID", "Date", "Modality", "Description", "Images")
_STUDY_UID_ROLE = Qt.ItemDataRole.UserRole


class DatabaseStudyList(QWidget):
    """The studies of the study database, searchable; emits ``study_activated(uid)`` on a
    double-click. Search by patient name or ID (``*`` wildcards), modality, description and a
    date range (``YYYYMMDD``, either end may stay empty)."""

    study_activated = Signal(str)
    listed = Signal()  # the list was filled again (a search or a refresh)

    def __init__(self, db: StudyDB, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.db = db
        self.fields = {name: QLineEdit(self) for name in ("name", "patient_id", "modality", "description",
                                                            "date_from", "date_to")}
        for name, hint in (("name", "Patient name"), ("patient_id", "Patient ID"), ("modality", "Modality"),
                           ("description", "Description"), ("date_from", "From YYYYMMDD"),
                           ("date_to", "To YYYYMMDD")):
            self.fields[name].setPlaceholderText(hint)
            self.fields[name].returnPressed.connect(self.refresh)
        self.message = QLabel("", self)
        self.tree = QTreeWidget(self)
        self.tree.setColumnCount(len(DB_COLUMNS))
        self.tree.setHeaderLabels(list(DB_COLUMNS))
        self.tree.setRootIsDecorated(False)
        self.tree.setAlternatingRowColors(True)
        self.tree.itemDoubleClicked.connect(self._on_double_click)
        self._layout()
        self.refresh()

    def _layout(self) -> None:
        form = QGridLayout()
        for n, name in enumerate(self.fields):
            form.addWidget(self.fields[name], n // 2, n % 2)
        self.search_button = QPushButton("Search", self)
        self.search_button.clicked.connect(self.refresh)
        form.addWidget(self.search_button, 3, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(self.tree, 1)

    def query(self) -> StudyQuery:
        text = {name: field.text().strip() for name, field in self.fields.items()}
        return StudyQuery(text["name"], text["patient_id"], text["date_from"], text["date_to"],
                          text["modality"], text["description"])

    def refresh(self) -> None:
        """Search again (after a change in the database, or new search terms)."""
        try:
            studies = self.db.studies(self.query())
        except StudyDBError as exc:
            self.message.setText(str(exc))
            return
        self.tree.clear()
        for study in studies:
            item = QTreeWidgetItem([study.patient_name or "(no name)", study.patient_id,
                                    format_date(study.study_date), "/".join(study.modalities),
                                    study.study_description, str(study.n_instances)])
            item.setData(0, _STUDY_UID_ROLE, study.study_instance_uid)
            self.tree.addTopLevelItem(item)
        for column in range(len(DB_COLUMNS)):
            self.tree.resizeColumnToContents(column)
        self.message.setText(f"{len(studies)} studies in the database")
        self.listed.emit()

    def study_uids(self) -> list[str]:
        tree = self.tree
        return [tree.topLevelItem(n).data(0, _STUDY_UID_ROLE) for n in range(tree.topLevelItemCount())]

    @staticmethod
    def study_uid_of(item: QTreeWidgetItem) -> str:
        return item.data(0, _STUDY_UID_ROLE)

    def selected_study_uid(self) -> str | None:
        item = self.tree.currentItem()
        return None if item is None else item.data(0, _STUDY_UID_ROLE)

    def _on_double_click(self, item: QTreeWidgetItem, column: int) -> None:
        self.study_activated.emit(item.data(0, _STUDY_UID_ROLE))
