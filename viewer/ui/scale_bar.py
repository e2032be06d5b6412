"""A scale bar in the slice views: a round length (1, 2, 5 × 10ⁿ mm) close to a fifth of the view's
width, drawn at the bottom right above the corner text with its length written over it. Only
where the image has a pixel spacing (not on a plain PNG/JPEG, whose pixels have no size).

    grid.add_layer(paint_scale_bar)
"""

from __future__ import annotations

import math
from typing import Any

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPen

SCALE_COLOUR = QColor(120, 220, 255)
_SHARE = 0.2  # of the view's width
_BOTTOM = 52  # px above the bottom edge (clear of two lines of corner text)


def round_length(limit_mm: float) -> float:
    """The largest 1, 2 or 5 × 10ⁿ mm not above ``limit_mm``."""
    exponent = math.floor(math.log10(limit_mm))
    for step in (5, 2, 1):
        if step * 10 ** exponent <= limit_mm:
            return float(step * 10 ** exponent)
    return float(10 ** exponent)


def scale_bar(view: Any) -> tuple[float, float] | None:
    """(length in mm, length on screen in px) for ``view``; None without a size to show."""
    transform, volume = view.transform(), view.model.volume
    if transform is None or volume is None or not volume.has_geometry:
        return None
    px_per_mm = transform.sx / view.geometry.pixel_spacing[1]
    mm = round_length(_SHARE * view.width() / px_per_mm)
    return mm, mm * px_per_mm


def scale_bar_rect(view: Any) -> QRectF | None:
    """The screen rectangle the scale bar and its backing take (None when there is none)."""
    bar = scale_bar(view)
    if bar is None:
        return None
    length = bar[1]
    right, y = view.width() - 12.0, view.height() - _BOTTOM
    return QRectF(right - length - 4, y - 22, length + 8, 27)


def paint_scale_bar(painter: QPainter, view: Any) -> None:
    """The ``SliceView.add_layer`` callback (see the module docstring)."""
    bar = scale_bar(view)
    if bar is None:
        return
    mm, length = bar
    right, y = view.width() - 12.0, view.height() - _BOTTOM
    left = right - length
    painter.save()
    painter.fillRect(scale_bar_rect(view), QColor(0, 0, 0, 150))  # readable over tissue
    painter.setPen(QPen(SCALE_COLOUR, 2))
    painter.drawLine(QPointF(left, y), QPointF(right, y))
    painter.drawLine(QPointF(left, y - 5), QPointF(left, y + 1))
    painter.drawLine(QPointF(right, y - 5), QPointF(right, y + 1))
    font = QFont("DejaVu Sans")
    font.setPixelSize(11)
    painter.setFont(font)
    text = f"{mm:g} mm"
    painter.drawText(QRectF(left, y - 20, length, 14), int(Qt.AlignmentFlag.AlignCenter), text)
    painter.restore()
