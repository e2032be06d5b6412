"""The radiologist's own marks in the slice views: the missed findings added for the open series
(a magenta cross and the label), so that a click in "add missed finding" mode shows what it stored.

    layer = MissedLayer(db)
    grid.add_layer(layer.paint_view)
    layer.set_series(series_instance_uid)      # on a change of series, and after a mark is added
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QPointF
from PySide6.QtGui import QColor, QFont, QPainter, QPen

from viewer.core.feedback_db import FeedbackDB, MissedFinding
from viewer.core.map_planes import marker_on_plane
from viewer.ui.heatmap_overlay import frame_of

MISSED_COLOUR = QColor(255, 0, 255)
_ARM = 7.0  # half the cross, screen pixels


class MissedLayer:
    """Paints the stored missed findings of one series (see the module docstring)."""

    def __init__(self, db: FeedbackDB) -> None:
        self.db = db
        self.marks: list[MissedFinding] = []

    def set_series(self, series_instance_uid: str | None) -> None:
        self.marks = [m for m in self.db.missed_findings(series_instance_uid) if m.center_kji is not None] \
            if series_instance_uid else []

    def paint_view(self, painter: QPainter, view: Any) -> None:
        """The ``SliceView.add_layer`` callback: a cross per mark on the shown slice(s)."""
        frame = frame_of(view)
        if frame is None or not self.marks:
            return
        painter.save()
        painter.setPen(QPen(MISSED_COLOUR, 2.0))
        font = QFont("DejaVu Sans")
        font.setPixelSize(12)
        painter.setFont(font)
        for mark in self.marks:
            at = marker_on_plane(mark.center_kji, frame.geometry, frame.slices)  # type: ignore[arg-type]
            if at is not None:
                x, y = frame.transform.to_screen(*at)
                painter.drawLine(QPointF(x - _ARM, y - _ARM), QPointF(x + _ARM, y + _ARM))
                painter.drawLine(QPointF(x - _ARM, y + _ARM), QPointF(x + _ARM, y - _ARM))
                painter.drawText(QPointF(x + _ARM + 3, y + _ARM + 10), f"{mark.label} (missed)")
        painter.restore()
