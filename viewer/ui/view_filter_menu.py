"""View › Filter: display-only denoise / CLAHE on every slice view, and the label on the image
while a filter is on — "filtered: …", or "filtering: …" while the slice is being computed (the
filters: ``viewer.core.view_filters``).

A slice is filtered once (the view caches it) in one worker thread, so the window never waits:
the view shows the unfiltered slice until the filtered one is ready (CLAHE takes 1.5–3 s on the
2 busy cores measured, see bench/RESULTS.md). ``shutdown()`` (the window's close) joins it.

    filters = ViewFilters(window.grid.views.values(), view_menu)   # adds the submenu
    filters.set_filter("Contrast (CLAHE)")                          # or None for the plain image
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from PySide6.QtCore import QObject, QRectF, Qt, Signal
from PySide6.QtGui import QAction, QActionGroup, QColor, QFont, QFontMetrics, QPainter
from PySide6.QtWidgets import QMenu

from viewer.core.view_filters import FILTERS, ViewFilter
from viewer.ui import slice_annotations
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
    """Where the filter label goes: bottom-left, just above the W/L and zoom lines (the corner
    text's 12-px lines)."""
    line = QFontMetrics(_font(12)).lineSpacing()
    metrics = QFontMetrics(_font(_FONT_PX, bold=True))
    lines = len(slice_annotations.corner_lines(view)["bottom_left"])
    height = metrics.height() + 4
    bottom = view.height() - _MARGIN - lines * line - 4
    return QRectF(_MARGIN, bottom - height, metrics.horizontalAdvance(text) + 10, height)


def label_text(view: SliceView, current: ViewFilter) -> str:
    return current.label if view.filter_shown else f"filtering: {current.short}…"


class _Results(QObject):
    """Carries a finished slice from the worker thread to the GUI thread (queued signal)."""

    done = Signal(object, object, object)  # id of the view, key, filtered plane (or the exception)


class ViewFilters(QObject):
    """One display filter for all the views of the window (see the module docstring)."""

    def __init__(self, views: Iterable[SliceView], menu: QMenu | None = None) -> None:
        super().__init__(menu)
        self.views = list(views)
        self.current: ViewFilter | None = None
        self.actions: dict[str | None, QAction] = {}
        self._pending: set[tuple[int, tuple[object, ...]]] = set()
        self.failed = ""  # why the last filter was switched off, if it failed
        self._executor: ThreadPoolExecutor | None = None
        self._results = _Results(self)
        self._results.done.connect(self._on_done)
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
            view.display_filter = self.request if self.current is not None else None
            view.display_filter_key = name
            view.filter_shown = False  # until a paint shows the new filter's image
            view.update()

    def request(self, view: SliceView, key: tuple[object, ...], plane: np.ndarray) -> None:
        """The views' ``display_filter``: start filtering ``plane`` (once per view and key); the
        result reaches the view through ``set_filtered``."""
        job = (id(view), key)
        if job not in self._pending and self.current is not None:
            self._pending.add(job)
            if self._executor is None:
                self._executor = ThreadPoolExecutor(1, thread_name_prefix="view-filter")
            self._executor.submit(self._run, self.current, id(view), key, np.array(plane))
        return None

    def _run(self, current: ViewFilter, view_id: int, key: tuple[object, ...], plane: np.ndarray) -> None:
        """(worker thread; touches no Qt object but the queued signal) filter one slice."""
        try:
            filtered = current(plane)
        except Exception as exc:  # noqa: BLE001 - reported in the GUI thread, the view stays plain
            filtered = exc
        self._results.done.emit(view_id, key, filtered)

    def _on_done(self, view_id: int, key: tuple[object, ...], plane: object) -> None:
        self._pending.discard((view_id, key))
        view = next((v for v in self.views if id(v) == view_id), None)
        if isinstance(plane, Exception):
            self.failed = f"{key[-1]} failed: {plane}"
            self.set_filter(None)  # the plain image, honestly labelled
        elif view is not None and self.current is not None and key[-1] == self.current.name:
            view.set_filtered(key, plane)  # (not when switched off or to another filter since)

    def busy(self) -> bool:
        """A slice is being filtered."""
        return bool(self._pending)

    def shutdown(self) -> None:
        """Stop taking work and wait for the slice being filtered (the window's close)."""
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
        self._pending.clear()

    def paint_label(self, painter: QPainter, view: SliceView) -> None:
        """The ``SliceView.add_layer`` callback: "filtered: …" (or "filtering: …") on a dark backing."""
        if self.current is None:
            return
        text = label_text(view, self.current)
        rect = label_rect(view, text)
        painter.setFont(_font(_FONT_PX, bold=True))
        painter.fillRect(rect, LABEL_BACKING)
        painter.setPen(LABEL_COLOUR)
        painter.drawText(rect, int(Qt.AlignmentFlag.AlignCenter), text)
