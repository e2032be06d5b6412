"""What a slice view paints over the image: corner text, orientation letters, measurements."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRect, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPen

from viewer.core.label_placement import Box, best_place, candidates_around
from viewer.core.orientation import screen_labels
from viewer.core.view_state import ScreenTransform, Tool, ViewKind
from viewer.ui.scale_bar import scale_bar_rect

if TYPE_CHECKING:
    from viewer.ui.slice_view import SliceView

TEXT_COLOUR = QColor(235, 235, 200)
LABEL_COLOUR = QColor(255, 210, 60)
MEASURE_COLOUR = QColor(255, 200, 0)
SELECTED_COLOUR = QColor(0, 255, 255)
_MARGIN = 6
HANDLE_PX = 7
#: Projection images: their orientation is Patient Orientation (0020,0020), not direction
#: cosines, so no letters are derived for them from a (default) direction matrix.
PROJECTION_MODALITIES = frozenset({"CR", "DX", "MG", "RF", "XA", "PX", "IO", "RG", "DF"})
_NORMAL_AXIS = {ViewKind.AXIAL: (2, "Z"), ViewKind.CORONAL: (1, "Y"), ViewKind.SAGITTAL: (0, "X")}


def _font(size: int, bold: bool = False) -> QFont:
    font = QFont("DejaVu Sans")
    font.setPixelSize(size)
    font.setBold(bold)
    return font


def _text(painter: QPainter, rect: QRectF, flags: Qt.AlignmentFlag, text: str,
          colour: QColor = TEXT_COLOUR) -> None:
    """Text with a 1-px dark shadow so that it reads on bright and dark images."""
    painter.setPen(QColor(0, 0, 0))
    painter.drawText(rect.translated(1, 1), int(flags), text)
    painter.setPen(colour)
    painter.drawText(rect, int(flags), text)


def _mm(value: float) -> str:
    """One decimal, never "-0.0"."""
    text = f"{value:.1f}"
    return "0.0" if text == "-0.0" else text


def corner_lines(view: SliceView) -> dict[str, list[str]]:
    """The four corners' text lines (what a radiologist expects, RadiAnt/Horos style)."""
    model, volume = view.model, view.model.volume
    info = model.info
    top_left = [info.get("patient", ""), info.get("study", ""),
                info.get("series", volume.series_description)]
    top_right = [t for t in (info.get("modality") or volume.modality, info.get("acquisition", "")) if t]
    top_right.append(f"Im: {view.slice_index + 1}/{view.n_slices}")
    if volume.has_geometry and not volume.is_2d:
        axis, name = _NORMAL_AXIS[view.state.kind]
        centre = view.geometry.slice_center(view.slice_index)
        top_right.append(f"{name}: {_mm(centre[axis])} mm")
    window = model.window
    transform = view.transform()
    pixel_mm = view.geometry.pixel_spacing
    zoom = transform.sx / pixel_mm[1] * min(pixel_mm) if transform else 1
    bottom_left = [f"W: {window.width:.0f} L: {window.center:.0f}" + (" (inv)" if model.invert else ""),
                   f"Zoom: {zoom * 100:.0f}%"]
    slab = f"{model.slab_mode.upper()} {model.slab_mm:g} mm" if model.slab_mode and not volume.is_2d else ""
    bottom_right = [slab, str(view.state.kind) if not volume.is_2d else "",
                    *(["resampled to true geometry"] if volume.resampled else [])]
    return {"top_left": [t for t in top_left if t], "top_right": top_right,
            "bottom_left": bottom_left, "bottom_right": [t for t in bottom_right if t]}


def paint_corner_text(painter: QPainter, view: SliceView) -> None:
    painter.setFont(_font(12))
    rect = QRectF(view.rect()).adjusted(_MARGIN, _MARGIN, -_MARGIN, -_MARGIN)
    align = Qt.AlignmentFlag
    lines = corner_lines(view)
    _text(painter, rect, align.AlignLeft | align.AlignTop, "\n".join(lines["top_left"]))
    _text(painter, rect, align.AlignRight | align.AlignTop, "\n".join(lines["top_right"]))
    _text(painter, rect, align.AlignLeft | align.AlignBottom, "\n".join(lines["bottom_left"]))
    _text(painter, rect, align.AlignRight | align.AlignBottom, "\n".join(lines["bottom_right"]))


def reserved_boxes(view: SliceView) -> list[Box]:
    """Screen boxes that measurement labels keep off: the corner text blocks, the orientation
    letters and the scale bar."""
    metrics = QFontMetrics(_font(12))
    rect = QRect(view.rect()).adjusted(_MARGIN, _MARGIN, -_MARGIN, -_MARGIN)
    align = Qt.AlignmentFlag
    places = {"top_left": align.AlignLeft | align.AlignTop, "top_right": align.AlignRight | align.AlignTop,
              "bottom_left": align.AlignLeft | align.AlignBottom,
              "bottom_right": align.AlignRight | align.AlignBottom}
    boxes = []
    for corner, lines in corner_lines(view).items():
        if lines:
            block = metrics.boundingRect(rect, int(places[corner]), "\n".join(lines))
            boxes.append((block.x(), block.y(), block.width(), block.height()))
    labels = edge_labels(view)
    for edge, (place, _) in label_places(view.width(), view.height()).items():
        if labels[edge]:
            boxes.append((place.x(), place.y(), place.width(), place.height()))
    bar = scale_bar_rect(view)
    if bar is not None:
        boxes.append((bar.x(), bar.y(), bar.width(), bar.height()))
    return boxes


def edge_labels(view: SliceView) -> dict[str, str]:
    """Orientation letters at the top/bottom/left/right edges, from the direction cosines."""
    volume = view.model.volume
    projection = volume is not None and volume.is_2d and volume.modality in PROJECTION_MODALITIES
    if volume is None or not volume.has_geometry or projection:
        return {"top": "", "bottom": "", "left": "", "right": ""}
    return screen_labels(volume.direction, str(view.state.kind)).as_dict()


def label_places(width: int, height: int) -> dict[str, tuple[QRectF, Qt.AlignmentFlag]]:
    """Where each edge's orientation letters are drawn in a view of ``width`` × ``height``."""
    box, align = 40, Qt.AlignmentFlag
    centre_v = align.AlignVCenter
    bottom = height - 22 - _MARGIN
    return {
        "top": (QRectF(width / 2 - box / 2, _MARGIN, box, 22), align.AlignHCenter | centre_v),
        "bottom": (QRectF(width / 2 - box / 2, bottom, box, 22), align.AlignHCenter | centre_v),
        "left": (QRectF(_MARGIN, height / 2 - 11, box, 22), align.AlignLeft | centre_v),
        "right": (QRectF(width - box - _MARGIN, height / 2 - 11, box, 22), align.AlignRight | centre_v),
    }


def paint_label(painter: QPainter, rect: QRectF, flags: Qt.AlignmentFlag, text: str) -> None:
    painter.setFont(_font(16, bold=True))
    _text(painter, rect, flags, text, LABEL_COLOUR)


def paint_orientation_labels(painter: QPainter, view: SliceView) -> None:
    labels = edge_labels(view)
    for edge, (rect, flags) in label_places(view.width(), view.height()).items():
        if labels[edge]:
            paint_label(painter, rect, flags, labels[edge])


def paint_empty(painter: QPainter, view: SliceView) -> None:
    painter.setFont(_font(14))
    _text(painter, QRectF(view.rect()), Qt.AlignmentFlag.AlignCenter,
          "No series loaded\nFile › Open folder, or drop a folder here")


def paint_measurement(painter: QPainter, transform: ScreenTransform, kind: Tool,
                      points: list[tuple[float, float]], label: str, selected: bool = False,
                      taken: list[Box] | None = None, bounds: Box | None = None) -> None:
    """A measurement given in plane (row, col) points, with its label placed beside the shape
    where it covers no box in ``taken`` (other labels and shapes; the label's box is added)."""
    screen = [QPointF(*transform.to_screen(r, c)) for r, c in points]
    painter.setPen(QPen(SELECTED_COLOUR if selected else MEASURE_COLOUR, 2.5 if selected else 1.5))
    painter.setBrush(Qt.BrushStyle.NoBrush)
    if kind in (Tool.ELLIPSE, Tool.RECTANGLE) and len(screen) == 2:
        rect = QRectF(screen[0], screen[1]).normalized()
        (painter.drawEllipse if kind == Tool.ELLIPSE else painter.drawRect)(rect)
    else:
        for a, b in zip(screen, screen[1:], strict=False):
            painter.drawLine(a, b)
        for p in screen:
            painter.drawEllipse(p, 2.5, 2.5)
        rect = _points_rect(screen)
    if selected:
        paint_handles(painter, [QPointF(*transform.to_screen(r, c)) for r, c in handle_points(kind, points)])
    if label:
        _paint_measure_label(painter, rect, label, taken if taken is not None else [], bounds)


def shape_box(transform: ScreenTransform, kind: Tool, points: list[tuple[float, float]]) -> Box:
    """The screen box a drawn measurement covers (labels keep off it)."""
    rect = _points_rect([QPointF(*transform.to_screen(r, c)) for r, c in points])
    return (rect.x(), rect.y(), rect.width(), rect.height())


def handle_points(kind: Tool, points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The draggable points (see ``viewer.core.measurements.handles``)."""
    if kind in (Tool.ELLIPSE, Tool.RECTANGLE) and len(points) == 2:
        (r0, c0), (r1, c1) = points
        return [(r0, c0), (r0, c1), (r1, c1), (r1, c0)]
    return list(points)


def paint_handles(painter: QPainter, points: list[QPointF]) -> None:
    """Square grips on a selected measurement's handles."""
    painter.save()
    painter.setPen(QPen(QColor(0, 0, 0), 1))
    painter.setBrush(SELECTED_COLOUR)
    half = HANDLE_PX / 2
    for p in points:
        painter.drawRect(QRectF(p.x() - half, p.y() - half, HANDLE_PX, HANDLE_PX))
    painter.restore()


def _points_rect(screen: list[QPointF]) -> QRectF:
    xs, ys = [p.x() for p in screen], [p.y() for p in screen]
    return QRectF(min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))


def _paint_measure_label(painter: QPainter, shape: QRectF, label: str, taken: list[Box],
                         bounds: Box | None) -> None:
    painter.setFont(_font(12))
    size = painter.fontMetrics().boundingRect(QRect(0, 0, 400, 400), 0, label).size()
    anchor = (shape.x(), shape.y(), shape.width(), shape.height())
    box = best_place(candidates_around(anchor, (size.width() + 2, size.height() + 2)), taken, bounds=bounds)
    taken.append(box)
    align = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop
    _text(painter, QRectF(*box), align, label, MEASURE_COLOUR)
