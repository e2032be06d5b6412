"""Item-view columns that fit the view's width: the columns that matter most are shown whole, in
order of priority, as long as they fit at their content width (the first that does not fit stops
the list); one column takes the rest; the others are hidden until the view is wide enough
(never a column cut mid-word, nothing off-screen).

    fit = ColumnFit(tree, stretch="Patient / series", priority=("Modality", "AI", "Images"))

Columns are named by their header text, so columns added later (the browser's AI columns) are
fitted too. The fit runs again when the view is resized or its rows or headers change.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Slot
from PySide6.QtWidgets import QHeaderView, QStyle, QTreeView

#: Width kept for the stretching column before a lower-priority column is shown: its content
#: width, but at least MIN_STRETCH_PX and at most MAX_RESERVED_PX.
MIN_STRETCH_PX = 110
MAX_RESERVED_PX = 130


def header_names(view: QTreeView) -> list[str]:
    model = view.model()
    horizontal = Qt.Orientation.Horizontal
    return [str(model.headerData(c, horizontal) or "") for c in range(model.columnCount())]


def column_width(view: QTreeView, column: int) -> int:
    """The width that shows the column's header text and every cell whole (measured from the
    text, which also holds for a hidden column, whose section size hint does not)."""
    header = view.header()
    margin = view.style().pixelMetric(QStyle.PixelMetric.PM_HeaderMargin)
    title = header.fontMetrics().horizontalAdvance(header_names(view)[column]) + 2 * margin + 6
    return max(view.sizeHintForColumn(column), title) + 4


def fit_columns(view: QTreeView, stretch: str, priority: Sequence[str]) -> list[str]:
    """Show ``priority`` columns whole while they fit beside the room kept for the ``stretch``
    column, which takes the remaining width; hide the rest. Returns the names shown."""
    names = header_names(view)
    header = view.header()
    header.setStretchLastSection(False)
    reserved = 0
    if stretch in names:
        content = column_width(view, names.index(stretch))
        reserved = min(max(content, MIN_STRETCH_PX), MAX_RESERVED_PX)
    available, used, shown = view.viewport().width(), reserved, [stretch]
    for column, name in enumerate(names):
        if name == stretch:
            view.setColumnHidden(column, False)
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Stretch)
        elif name not in priority:
            view.setColumnHidden(column, True)
    full = False  # strict priority: once one does not fit, the later ones wait too (the rest of
    for name in priority:  # the width goes to the stretching column, e.g. the series name)
        if name not in names:
            continue
        column = names.index(name)
        width = column_width(view, column)
        fits = not full and used + width <= available
        full = not fits
        view.setColumnHidden(column, not fits)
        if fits:
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Fixed)
            header.resizeSection(column, width)
            used += width
            shown.append(name)
    return shown


class ColumnFit(QObject):
    """Keeps :func:`fit_columns` applied to ``view`` (see the module docstring)."""

    def __init__(self, view: QTreeView, stretch: str, priority: Sequence[str]) -> None:
        super().__init__(view)
        self.view, self.stretch, self.priority = view, stretch, tuple(priority)
        self.shown: list[str] = []
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.fit)
        view.viewport().installEventFilter(self)
        model = view.model()
        for signal in (model.rowsInserted, model.rowsRemoved, model.modelReset, model.dataChanged,
                       model.headerDataChanged, model.columnsInserted, model.layoutChanged):
            signal.connect(self.schedule)
        view.expanded.connect(self.schedule)

    @Slot()
    def schedule(self) -> None:
        """A declared slot without arguments: Qt drops the signals' arguments and removes the
        connections when this object goes (a plain method with ``*args`` was looked up by name
        on a half-deleted object once: "Slot 'ColumnFit::' not found")."""
        if not self._timer.isActive():
            self._timer.start(0)

    @Slot()
    def fit(self) -> None:
        self.shown = fit_columns(self.view, self.stretch, self.priority)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt API)
        if event.type() == QEvent.Type.Resize:
            self.schedule()
        return False
