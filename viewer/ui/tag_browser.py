"""DICOM tag browser for the current slice: a filterable tree of pydicom elements.

Patient-identifying values are shown (it is the user's own data) but never logged: nothing in
this module logs or prints element values.

API
---
``tag_rows(dataset) -> list[TagRow]`` — Qt-free rows (tag, name, VR, value text, children for
    sequences: one "Item n" row per item). Bulk binary values (Pixel Data, overlays, large OB/OW)
    are summarised as "<N bytes>".
``TagBrowser(parent=None)`` — widget: ``filter_edit`` (QLineEdit) above ``tree`` (QTreeWidget,
    columns Tag / Name / VR / Value); ``set_dataset(ds)``, ``set_file(path)`` (header only),
    ``set_filter(text)`` (case-insensitive match on any column; ancestors of matches stay
    visible and expanded), ``visible_rows() -> list[tuple[str, str, str, str]]``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import pydicom
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QLineEdit, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

BINARY_VRS = {"OB", "OW", "OF", "OD", "OL", "OV", "UN"}
MAX_VALUE_CHARS = 256
COLUMNS = ("Tag", "Name", "VR", "Value")


@dataclass
class TagRow:
    """One line of the browser; ``children`` for sequences (items) and items (elements)."""

    tag: str
    name: str
    vr: str
    value: str
    children: list[TagRow] = field(default_factory=list)

    def columns(self) -> tuple[str, str, str, str]:
        return self.tag, self.name, self.vr, self.value


def _value_text(element: DataElement) -> str:
    value = element.value
    if element.VR in BINARY_VRS or isinstance(value, bytes | bytearray):
        size = len(value) if value is not None else 0
        return f"<{size} bytes>"
    if value is None or value == "":
        return ""
    if isinstance(value, list | tuple) or type(value).__name__ == "MultiValue":
        text = "\\".join(str(v) for v in value)
    else:
        text = str(value)
    return text if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS] + "…"


def _element_row(element: DataElement) -> TagRow:
    tag = f"({element.tag.group:04X},{element.tag.element:04X})"
    name = element.name if element.name else element.keyword
    if element.VR == "SQ":
        items = [TagRow("", f"Item {n}", "", "", tag_rows(item)) for n, item in enumerate(element.value, 1)]
        return TagRow(tag, name, "SQ", f"{len(items)} item(s)", items)
    return TagRow(tag, name, element.VR, _value_text(element))


def tag_rows(dataset: Dataset) -> list[TagRow]:
    """Rows for every element of ``dataset`` (file meta first when present), in tag order."""
    rows: list[TagRow] = []
    meta = getattr(dataset, "file_meta", None)
    if meta:
        rows.extend(_element_row(element) for element in meta)
    rows.extend(_element_row(element) for element in dataset)
    return rows


#: Below this width the Tag and VR columns are hidden (they show in the name's tooltip), so
#: that the Value column always has room.
WIDE_PX = 520
NAME_SHARE = 0.45


def fit_tag_columns(tree: QTreeWidget) -> None:
    """Name and Value share a narrow panel (Value stretches); Tag and VR join when it is wide."""
    width, header = tree.viewport().width(), tree.header()
    wide = width >= WIDE_PX
    tree.setColumnHidden(0, not wide)
    tree.setColumnHidden(2, not wide)
    header.setStretchLastSection(True)
    fixed = 0
    if wide:
        header.resizeSection(0, 96)
        header.resizeSection(2, 36)
        fixed = 96 + 36
    header.resizeSection(1, int((width - fixed) * NAME_SHARE))


class TagBrowser(QWidget):
    """Filter box above a tree of the current slice's DICOM elements."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.filter_edit = QLineEdit(self)
        self.filter_edit.setPlaceholderText("Filter tags (tag, name, VR or value)…")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.textChanged.connect(self.set_filter)
        self.tree = QTreeWidget(self)
        self.tree.setHeaderLabels(list(COLUMNS))
        self.tree.setUniformRowHeights(True)
        self.tree.viewport().installEventFilter(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.filter_edit)
        layout.addWidget(self.tree, 1)

    def set_dataset(self, dataset: Dataset | None) -> None:
        """Show ``dataset`` (None clears), keeping the current filter."""
        self.tree.clear()
        if dataset is not None:
            self.tree.addTopLevelItems([self._item(row) for row in tag_rows(dataset)])
        self.set_filter(self.filter_edit.text())

    def set_file(self, path: str | os.PathLike[str]) -> None:
        """Read the header of ``path`` (pixel data is not read) and show it."""
        self.set_dataset(pydicom.dcmread(path, stop_before_pixels=True, force=True))

    def _item(self, row: TagRow) -> QTreeWidgetItem:
        item = QTreeWidgetItem(list(row.columns()))
        item.setToolTip(3, row.value)
        item.setToolTip(1, " ".join(row.columns()[:3]))  # tag and VR when their columns are hidden
        item.addChildren([self._item(child) for child in row.children])
        return item

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt API)
        if event.type() == QEvent.Type.Resize:
            fit_tag_columns(self.tree)
        return False

    def set_filter(self, text: str) -> None:
        """Show only rows matching ``text`` (and their ancestors); empty text shows everything."""
        if self.filter_edit.text() != text:
            self.filter_edit.setText(text)  # re-enters through textChanged
            return
        needle = text.strip().lower()
        for n in range(self.tree.topLevelItemCount()):
            self._apply(self.tree.topLevelItem(n), needle)

    def _apply(self, item: QTreeWidgetItem, needle: str) -> bool:
        own = not needle or any(needle in item.text(c).lower() for c in range(len(COLUMNS)))
        child_match = False
        for n in range(item.childCount()):
            child_match |= self._apply(item.child(n), "" if own and needle else needle)
        visible = own or child_match
        item.setHidden(not visible)
        item.setExpanded(bool(needle) and child_match)
        return visible

    def visible_rows(self) -> list[tuple[str, str, str, str]]:
        """(tag, name, VR, value) of every visible row, depth first (for tests and export)."""
        out: list[tuple[str, str, str, str]] = []

        def walk(item: QTreeWidgetItem) -> None:
            if item.isHidden():
                return
            out.append(tuple(item.text(c) for c in range(len(COLUMNS))))  # type: ignore[arg-type]
            for n in range(item.childCount()):
                walk(item.child(n))

        for n in range(self.tree.topLevelItemCount()):
            walk(self.tree.topLevelItem(n))
        return out
