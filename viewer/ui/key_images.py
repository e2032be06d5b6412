"""Key images: the reader toggles the axial slice on screen as key (K), sees a "KEY IMAGE" badge on
it, finds them listed in the Key images panel (double-click jumps there) and in the report.

    keys = KeyImages(window.model)
    grid.add_layer(keys.paint_view)
    keys.toggle()                 # the current axial slice
    keys.slices()                 # 0-based axial indices, sorted

The marks are for the open series (cleared when another series opens); not stored.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, QPointF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QWidget

from viewer.core.view_state import ViewerModel, ViewKind
from viewer.ui.slice_annotations import label_places

BADGE_COLOUR = QColor(255, 214, 0)
BADGE_TEXT = "KEY IMAGE"


def badge_top(width: int, height: int) -> int:
    """The badge's top edge: just under the top orientation letter, never over it."""
    rect, _ = label_places(width, height)["top"]
    return int(rect.bottom()) + 4


class KeyImages(QObject):
    """The key axial slices of the open series (see the module docstring)."""

    changed = Signal()

    def __init__(self, model: ViewerModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self._slices: set[int] = set()
        self._series: str | None = None
        model.volume_changed.connect(self._on_volume)

    def _on_volume(self) -> None:
        uid = self.model.volume.series_instance_uid if self.model.volume is not None else None
        if uid != self._series:
            self._series = uid
            self._slices.clear()
            self.changed.emit()

    def slices(self) -> list[int]:
        return sorted(self._slices)

    def current(self) -> int | None:
        return int(self.model.cursor[0]) if self.model.volume is not None else None

    def is_key(self, k: int | None = None) -> bool:
        k = self.current() if k is None else k
        return k is not None and k in self._slices

    def toggle(self, k: int | None = None) -> bool:
        """Mark (or unmark) axial slice ``k`` (default: the one on screen); returns whether it is key."""
        k = self.current() if k is None else k
        if k is None:
            return False
        self._slices.symmetric_difference_update({k})
        self.changed.emit()
        return k in self._slices

    def paint_view(self, painter: QPainter, view: Any) -> None:
        """The ``SliceView.add_layer`` callback: a badge at the top centre of a key axial slice."""
        axial = view.state.kind == ViewKind.AXIAL
        if not axial or self.model.volume is None or not self.is_key(view.slice_index):
            return
        painter.save()
        font = QFont("DejaVu Sans")
        font.setPixelSize(13)
        font.setBold(True)
        painter.setFont(font)
        width = painter.fontMetrics().horizontalAdvance(BADGE_TEXT) + 12
        x = (view.width() - width) / 2
        top = badge_top(view.width(), view.height())
        painter.fillRect(int(x), top, width, 20, QColor(0, 0, 0, 200))
        painter.setPen(QPen(BADGE_COLOUR))
        painter.drawText(QPointF(x + 6, top + 15), BADGE_TEXT)
        painter.restore()


class KeyImageList(QListWidget):
    """The Key images panel: one row per key slice ("Im 161/275"); double-click shows it."""

    def __init__(self, keys: KeyImages, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.keys = keys
        keys.changed.connect(self.refresh)
        self.itemActivated.connect(self._show)
        self.itemDoubleClicked.connect(self._show)
        self.refresh()

    def refresh(self) -> None:
        self.clear()
        volume = self.keys.model.volume
        for k in self.keys.slices():
            item = QListWidgetItem(f"Im {k + 1}/{volume.shape[0] if volume is not None else '?'}")
            item.setData(Qt.ItemDataRole.UserRole, k)
            self.addItem(item)
        if not self.keys.slices():
            self.addItem(QListWidgetItem("No key images (K marks the axial slice on screen)"))

    def _show(self, item: QListWidgetItem) -> None:
        k = item.data(Qt.ItemDataRole.UserRole)
        if k is not None:
            self.keys.model.set_slice(0, int(k))
