""""NOT FOR DIAGNOSTIC USE" written into an image that carries AI output (``snapshot --analyze``):
white on dark red (10:1 contrast), centred just above the bottom orientation letter so that it
covers neither the corner text nor the letters."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter

from ai.package import DISCLAIMER
from viewer.ui.slice_annotations import label_places

STAMP_BACKGROUND = QColor(139, 0, 0)
STAMP_TEXT = QColor(255, 255, 255)


def stamp_rect(width: int, height: int, text_width: int) -> QRectF:
    """Where the stamp goes: centred, its bottom 4 px above the bottom orientation letter's box."""
    letter, _ = label_places(width, height)["bottom"]
    return QRectF((width - text_width) / 2 - 6, letter.top() - 24, text_width + 12, 20)


def stamp_disclaimer(image: QImage) -> QImage:
    """``image`` with the disclaimer painted on it (in place; returned for chaining)."""
    painter = QPainter(image)
    font = QFont("DejaVu Sans")
    font.setPixelSize(12)
    font.setBold(True)
    painter.setFont(font)
    text = DISCLAIMER.upper()
    rect = stamp_rect(image.width(), image.height(), painter.fontMetrics().horizontalAdvance(text))
    painter.fillRect(rect, STAMP_BACKGROUND)
    painter.setPen(STAMP_TEXT)
    painter.drawText(rect, int(Qt.AlignmentFlag.AlignCenter), text)
    painter.end()
    return image
