"""The study browser: patients → studies → series of an indexed folder; double-click opens."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QTreeWidget, QTreeWidgetItem, QWidget

from viewer.core.dicom_index import DicomIndex, SeriesRecord, StudyRecord

COLUMNS = ("Patient / series", "Date", "Modality", "Description", "Images")
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

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setColumnCount(len(COLUMNS))
        self.setHeaderLabels(list(COLUMNS))
        self.setAlternatingRowColors(True)
        self.setUniformRowHeights(True)
        self.itemDoubleClicked.connect(self._on_double_click)
        self.index: DicomIndex | None = None

    def set_index(self, index: DicomIndex) -> None:
        self.clear()
        self.index = index
        for patient in index.patients:
            first = patient.studies[0].descriptor if patient.studies else None
            name = (first.patient_name if first else "") or "(no name)"
            top = QTreeWidgetItem([name, "", "", "", ""])
            self.addTopLevelItem(top)
            for study in patient.studies:
                item = self._study_item(study)
                top.addChild(item)
                item.setExpanded(True)  # only effective once the item is in the tree
            top.setExpanded(True)
        for column in range(len(COLUMNS)):
            self.resizeColumnToContents(column)

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
            item.addChild(child)
        return item

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
