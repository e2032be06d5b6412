"""Finding labels ("fracture 0.97") placed where they hide nothing: beside the finding's box or
marker, off the other findings' boxes and labels, and on dark or empty parts of the image — not
over a burned-in marker such as a radiograph's "L Wrist" or over bone (placement rules:
``viewer.core.label_placement``). Each label sits on a dark backing so it reads anywhere.

    labels = FindingLabels()                       # one per overlay (caches a bright-pixel map per plane)
    labels.paint(painter, frame, shapes)           # shapes: [(screen QRectF, text, colour), ...]
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter

from viewer.core.label_placement import Box, BrightnessMap, best_place, candidates_around
from viewer.core.reslice import extract_plane

BACKING = QColor(0, 0, 0, 160)
FONT_PX = 12


def _font() -> QFont:
    font = QFont("DejaVu Sans")
    font.setPixelSize(FONT_PX)
    return font


def _box(rect: QRectF) -> Box:
    return (rect.x(), rect.y(), rect.width(), rect.height())


class FindingLabels:
    """Places and paints the labels of the findings shown on one frame (see the module docstring)."""

    def __init__(self) -> None:
        self._bright: dict[str, tuple[tuple[object, ...], BrightnessMap]] = {}
        self.placed: list[tuple[str, Box]] = []  # the last frame's labels (text, screen box)

    def brightness(self, frame: Any) -> BrightnessMap:
        """Bright pixels of the frame's plane (cached per view until the slice or volume changes)."""
        key = (id(frame.volume), frame.slice_index, frame.transform)
        cached = self._bright.get(frame.view)
        if cached is None or cached[0][:2] != key[:2]:
            plane = extract_plane(frame.volume, frame.view, frame.slice_index, frame.geometry)
            cached = (key, BrightnessMap(plane, frame.transform.to_plane))
            self._bright[frame.view] = cached
        cached[1].to_plane = frame.transform.to_plane  # zoom/pan change only the mapping
        return cached[1]

    def paint(self, painter: QPainter, frame: Any, shapes: list[tuple[QRectF, str, QColor]]) -> None:
        """Label each shape (screen rect of its box or marker) with its text in its colour."""
        painter.setFont(_font())
        metrics = QFontMetrics(_font())
        taken = [_box(rect) for rect, _, _ in shapes]
        bounds = (0.0, 0.0, float(frame.size[0]), float(frame.size[1]))
        brightness = self.brightness(frame)
        self.placed = []
        for rect, text, colour in shapes:
            size = (metrics.horizontalAdvance(text) + 8, metrics.height() + 2)
            box = best_place(candidates_around(_box(rect), size, gap=3), taken, brightness, bounds)
            taken.append(box)
            self.placed.append((text, box))
            target = QRectF(*box)
            painter.fillRect(target, BACKING)
            painter.setPen(colour)
            painter.drawText(target, int(Qt.AlignmentFlag.AlignCenter), text)
