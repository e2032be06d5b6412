"""Helpers for the viewer GUI tests: open a window, wait for loading, capture and read pixels."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from PySide6.QtCore import QPoint, QSettings, Qt
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QApplication, QWidget

from viewer.ui import slice_annotations
from viewer.ui.main_window import MainWindow
from viewer.ui.slice_view import SliceView


def open_window(qtbot: object, tmp_path: Path, path: Path, layout: str = "1x1") -> MainWindow:
    """A shown main window (private settings file) with ``path`` loaded completely."""
    settings = QSettings(str(tmp_path / "radsight.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings)
    qtbot.addWidget(window)
    window.resize(1280, 900)
    window.show()
    qtbot.waitExposed(window)
    window.set_layout(layout)
    window.open_path(path)
    qtbot.waitUntil(lambda: window.result is not None and not window.is_loading(), timeout=60_000)
    QApplication.processEvents()
    return window


def to_array(image: QImage) -> np.ndarray:
    """QImage → (h, w, 3) uint8 RGB array (a copy)."""
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    width, height, stride = image.width(), image.height(), image.bytesPerLine()
    buffer = np.frombuffer(image.constBits(), dtype=np.uint8, count=stride * height)
    return buffer.reshape(height, stride)[:, : width * 3].reshape(height, width, 3).copy()


def settled_grab(qtbot: object, widget: QWidget) -> QImage:
    """The widget's pixels once painting no longer changes them (layouts that settle on their
    first paint: pyqtgraph axes, item views); waits for that condition, never for a time."""
    last = [widget.grab().toImage()]

    def unchanged() -> bool:
        QApplication.sendPostedEvents()
        image = widget.grab().toImage()
        same, last[0] = image == last[0], image
        return same

    qtbot.waitUntil(unchanged, timeout=10_000)  # type: ignore[attr-defined]
    return last[0]


def grab_screen(widget: QWidget) -> QImage:
    """What is on the (Xvfb) screen for ``widget`` — also right for VTK areas, unlike grab()."""
    QApplication.processEvents()
    widget.repaint()
    QApplication.processEvents()
    top_left = widget.mapToGlobal(QPoint(0, 0))
    screen = widget.screen()
    return screen.grabWindow(0, top_left.x(), top_left.y(), widget.width(), widget.height()).toImage()


def save(image: QImage, output_dir: Path, name: str) -> Path:
    path = output_dir / name
    assert image.save(str(path)), f"could not write {path}"
    return path


def label_mask(pixels: np.ndarray) -> np.ndarray:
    """Pixels in the orientation-label colour."""
    colour = slice_annotations.LABEL_COLOUR
    target = np.array([colour.red(), colour.green(), colour.blue()])
    return np.abs(pixels.astype(int) - target).sum(axis=-1) < 60


def read_label(pixels: np.ndarray, view: SliceView, edge: str, candidates: Iterable[str]) -> str:
    """Which of ``candidates`` (letters or strings) is painted at ``edge`` (glyph template match)."""
    rect, flags = slice_annotations.label_places(view.width(), view.height())[edge]
    x0, y0, x1, y1 = int(rect.left()), int(rect.top()), int(rect.right()), int(rect.bottom())
    seen = label_mask(pixels[y0:y1, x0:x1])
    scores = {}
    for letter in candidates:
        template = QImage(view.width(), view.height(), QImage.Format.Format_RGB32)
        template.fill(Qt.GlobalColor.black)
        painter = QPainter(template)
        slice_annotations.paint_label(painter, rect, flags, letter)
        painter.end()
        expected = label_mask(to_array(template)[y0:y1, x0:x1])
        union = (seen | expected).sum()
        scores[letter] = (seen & expected).sum() / union if union else 0.0
    best = max(scores, key=scores.get)
    assert scores[best] > 0.8, f"no clear label at the {edge} edge: {scores}"
    return best


def view_point(view: SliceView, row: float, col: float) -> QPoint:
    """Widget pixel over the centre of plane pixel (row, col)."""
    x, y = view.transform().to_screen(row, col)
    return QPoint(int(round(x)), int(round(y)))


def drag(qtbot: object, view: SliceView, start: QPoint, end: QPoint, steps: int = 6,
         button: Qt.MouseButton = Qt.MouseButton.LeftButton) -> None:
    """Press at ``start``, move in steps, release at ``end`` (what a hand does)."""
    from PySide6.QtTest import QTest

    QTest.mousePress(view, button, Qt.KeyboardModifier.NoModifier, start)
    for n in range(1, steps + 1):
        point = start + (end - start) * (n / steps)
        QTest.mouseMove(view, point)
    QTest.mouseRelease(view, button, Qt.KeyboardModifier.NoModifier, end)
    QApplication.processEvents()


def wheel(view: SliceView, notches: int) -> None:
    """Turn the mouse wheel over the view's centre (positive = away from the user)."""
    from PySide6.QtCore import QPointF
    from PySide6.QtGui import QWheelEvent

    centre = QPointF(view.width() / 2, view.height() / 2)
    for _ in range(abs(notches)):
        delta = QPoint(0, 120 if notches > 0 else -120)
        event = QWheelEvent(centre, QPointF(view.mapToGlobal(centre)), QPoint(0, 0), delta,
                            Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                            Qt.ScrollPhase.NoScrollPhase, False)
        QApplication.sendEvent(view, event)
    QApplication.processEvents()


def nodule_contours(annotations: Path) -> dict[float, list[np.ndarray]]:
    """z (ImagePositionPatient[2]) → the readers' contour polygons (x = column, y = row)."""
    out: dict[float, list[np.ndarray]] = {}
    with open(annotations / "contours.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            points = [[float(v) for v in line.split(",")] for line in row["coords"].strip().splitlines()]
            out.setdefault(round(float(row["image_z_position"]), 1), []).append(np.array(points))
    return out
