"""Side panel listing the measurements of the open series: select (jumps there), delete."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QPushButton, QVBoxLayout, QWidget

from viewer.core.measurements import Measurement
from viewer.core.view_state import ViewerModel

_ID_ROLE = Qt.ItemDataRole.UserRole


def row_text(item: Measurement) -> str:
    summary = item.result.summary() if item.result is not None else ""
    return f"{item.id}. {item.kind} — {item.view} {item.slice_index + 1}: {summary}"


class _List(QListWidget):
    delete_pressed = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self.delete_pressed.emit()
        else:
            super().keyPressEvent(event)


class MeasurementPanel(QWidget):
    """Lists ``model.measurements``; selecting one selects it in the model and shows its slice."""

    jump_requested = Signal(object)  # Measurement

    def __init__(self, model: ViewerModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.list = _List(self)
        self.list.setWordWrap(True)  # a long ROI summary wraps in the narrow dock, never scrolls off
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.delete_button = QPushButton("Delete", self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.list)
        layout.addWidget(self.delete_button)
        self.list.currentItemChanged.connect(self._on_current)
        self.list.delete_pressed.connect(self.delete_selected)
        self.delete_button.clicked.connect(self.delete_selected)
        model.measurements_changed.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        measurements = self.model.measurements
        self.list.blockSignals(True)
        self.list.clear()
        for item in measurements:
            row = QListWidgetItem(row_text(item))
            row.setData(_ID_ROLE, item.id)
            self.list.addItem(row)
            if item.id == measurements.selected_id:
                self.list.setCurrentItem(row)
        self.list.blockSignals(False)
        self.delete_button.setEnabled(len(measurements) > 0)

    def _on_current(self, current: QListWidgetItem | None, _previous: object) -> None:
        measurement_id = current.data(_ID_ROLE) if current is not None else None
        self.model.measurements.select(measurement_id)
        if measurement_id is not None:
            self.jump_requested.emit(self.model.measurements.selected)

    def delete_selected(self) -> None:
        if self.model.measurements.selected_id is None and self.list.currentItem() is not None:
            self.model.measurements.select(self.list.currentItem().data(_ID_ROLE))
        self.model.measurements.remove_selected()
