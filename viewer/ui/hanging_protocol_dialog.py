"""View › Hanging protocols…: a table of the protocols (one row each, first match wins), editable
in place, with Add, Remove, Move up and Restore defaults. See `viewer.core.hanging_protocols`."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from viewer.core.hanging_protocols import (
    DEFAULT_PROTOCOLS,
    LAYOUTS,
    SLAB_MODES,
    VOLUME_PRESETS,
    HangingProtocol,
)
from viewer.core.windowing import CT_PRESETS

COLUMNS = ("Name", "Modality", "Body part", "Layout", "Window", "Slab", "Slab mm", "3D")
_TEXT_COLUMNS = (0, 1, 2)
_SLAB_LABELS = {"": "single slice", "mip": "MIP", "minip": "MinIP", "mean": "Average"}
_WINDOW_CHOICES = ("", *CT_PRESETS, "auto")
_HELP = ("The first row that matches a series sets its layout, window, slab and 3D preset when it "
         "opens. Modality: e.g. CT or CR|DX, * for any. Body part: words looked for in the body part "
         "and descriptions, e.g. chest|lung, * for any. Window (own): the image's own window; "
         "3D (keep): the 3D view keeps its preset.")


def _combo(parent: QWidget, values: Sequence[str], current: str,
           labels: dict[str, str] | None = None) -> QComboBox:
    box = QComboBox(parent)
    for value in values:
        box.addItem((labels or {}).get(value, value or "(own)"), value)
    box.setCurrentIndex(max(0, list(values).index(current) if current in values else 0))
    return box


class HangingProtocolDialog(QDialog):
    """Edit a list of hanging protocols; ``protocols()`` reads the table back."""

    def __init__(self, protocols: Sequence[HangingProtocol], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Hanging protocols")
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().hide()
        self.set_protocols(protocols)
        help_label = QLabel(_HELP, self)
        help_label.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(help_label)
        layout.addWidget(self.table, 1)
        layout.addLayout(self._row_buttons())
        ok_cancel = QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        buttons = QDialogButtonBox(ok_cancel, self)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(900, 360)

    def _row_buttons(self) -> QHBoxLayout:
        row = QHBoxLayout()
        for text, slot in (("Add", self.add_row), ("Remove", self.remove_row), ("Move up", self.move_up),
                           ("Restore defaults", lambda: self.set_protocols(DEFAULT_PROTOCOLS))):
            button = QPushButton(text, self)
            button.clicked.connect(slot)
            row.addWidget(button)
        row.addStretch(1)
        return row

    # --- rows -------------------------------------------------------------------------------
    def set_protocols(self, protocols: Sequence[HangingProtocol]) -> None:
        self.table.setRowCount(0)
        for protocol in protocols:
            self.add_row(protocol)

    def add_row(self, protocol: HangingProtocol | None = None) -> None:
        p = protocol if isinstance(protocol, HangingProtocol) else HangingProtocol("New protocol")
        row = self.table.rowCount()
        self.table.insertRow(row)
        for column, text in zip(_TEXT_COLUMNS, (p.name, p.modality, p.body_part), strict=True):
            self.table.setItem(row, column, QTableWidgetItem(text))
        self.table.setCellWidget(row, 3, _combo(self.table, LAYOUTS, p.layout))
        self.table.setCellWidget(row, 4, _combo(self.table, _WINDOW_CHOICES, p.window))
        self.table.setCellWidget(row, 5, _combo(self.table, SLAB_MODES, p.slab_mode, _SLAB_LABELS))
        spin = QDoubleSpinBox(self.table)
        spin.setRange(0.1, 100)
        spin.setValue(p.slab_mm)
        self.table.setCellWidget(row, 6, spin)
        self.table.setCellWidget(row, 7, _combo(self.table, VOLUME_PRESETS, p.volume_preset, {"": "(keep)"}))

    def remove_row(self) -> None:
        if self.table.currentRow() >= 0:
            self.table.removeRow(self.table.currentRow())

    def move_up(self) -> None:
        row = self.table.currentRow()
        if row > 0:
            protocols = self.protocols()
            protocols[row - 1], protocols[row] = protocols[row], protocols[row - 1]
            self.set_protocols(protocols)
            self.table.selectRow(row - 1)

    def _row(self, row: int) -> HangingProtocol:
        name, modality, body = (self.table.item(row, c).text().strip() for c in _TEXT_COLUMNS)
        combo = self.table.cellWidget
        return HangingProtocol(name or f"Protocol {row + 1}", modality or "*", body or "*",
                               layout=combo(row, 3).currentData(), window=combo(row, 4).currentData(),
                               slab_mode=combo(row, 5).currentData(), slab_mm=combo(row, 6).value(),
                               volume_preset=combo(row, 7).currentData())

    def protocols(self) -> list[HangingProtocol]:
        return [self._row(row) for row in range(self.table.rowCount())]
