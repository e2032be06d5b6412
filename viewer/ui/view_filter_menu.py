"""View › Filter: display-only denoise / CLAHE on every slice view, and the "filtered: …" label
painted on the image while a filter is on (the filters: ``viewer.core.view_filters``).

    filters = ViewFilters(window.grid.views.values(), view_menu)   # adds the submenu
    filters.set_filter("Contrast (CLAHE)")                          # or None for the plain image
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from PySide6.QtCore import QObject, QRectF, Qt
from PySide6.QtGui import QAction, QActionGroup, QColor, QFont, QFontMetrics, QPainter
from PySide6.QtWidgets import QApplication, QMenu

from viewer.core.view_filters import FILTERS, ViewFilter
from viewer.ui import overlays
from viewer.ui.slice_view import SliceView

LABEL_COLOUR = QColor(120, 230, 255)
LABEL_BACKING = QColor(0, 0, 0, 190)
_FONT_PX = 13
_MARGIN = 6


def _font(pixels: int, bold: bool = False) -> QFont:
    font = QFont("DejaVu Sans")
    font.setPixelSize(pixels)
    font.setBold(bold)
    return font


def label_rect(view: SliceView, text: str) -> QRectF:
    """Where the "filtered: …" label goes: bottom-left, just above the W/L and zoom lines
    (the corner text's 12-px lines)."""
    line = QFontMetrics(_font(12)).lineSpacing()
    metrics = QFontMetrics(_font(_FONT_PX, bold=True))
    lines = len(overlays.corner_lines(view)["bottom_left"])
    height = metrics.height() + 4
    bottom = view.height() - _MARGIN - lines * line - 4
    return QRectF(_MARGIN, bottom - height, metrics.horizontalAdvance(text) + 10, height)


class ViewFilters(QObject):
    """One display filter for all the views of the window (see the module docstring)."""

    def __init__(self, views: Iterable[SliceView], menu: QMenu | None = None) -> None:
        super().__init__(menu)
        self.views = list(views)
        self.current: ViewFilter | None = None
        self.actions: dict[str | None, QAction] = {}
        for view in self.views:
            view.add_layer(self.paint_label)
        if menu is not None:
            self.add_menu(menu.addMenu("&Filter (display only)"))

    def add_menu(self, menu: QMenu) -> None:
        group = QActionGroup(menu)
        for name in (None, *FILTERS):
            action = QAction(name or "None", menu, checkable=True)
            action.triggered.connect(lambda _=False, n=name: self.set_filter(n))
            group.addAction(action)
            menu.addAction(action)
            self.actions[name] = action
        self.actions[None].setChecked(True)

    def set_filter(self, name: str | None) -> None:
        """Filter what every view shows with ``FILTERS[name]`` (None: the plain image)."""
        self.current = FILTERS[name] if name is not None else None
        if name in self.actions:
            self.actions[name].setChecked(True)
        for view in self.views:
            view.display_filter = self._run_with_wait_cursor if self.current is not None else None
            view.display_filter_key = name
            view.update()

    def _run_with_wait_cursor(self, plane: np.ndarray) -> np.ndarray:
        """The current filter on one plane (once per slice; CLAHE takes ~1–3 s on 2 busy cores,
        see bench/RESULTS.md), with the wait cursor meanwhile."""
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            return self.current(plane)
        finally:
            QApplication.restoreOverrideCursor()

    def paint_label(self, painter: QPainter, view: SliceView) -> None:
        """The ``SliceView.add_layer`` callback: "filtered: …" on a dark backing."""
        if self.current is None:
            return
        text = self.current.label
        rect = label_rect(view, text)
        painter.setFont(_font(_FONT_PX, bold=True))
        painter.fillRect(rect, LABEL_BACKING)
        painter.setPen(LABEL_COLOUR)
        painter.drawText(rect, int(Qt.AlignmentFlag.AlignCenter), text)
