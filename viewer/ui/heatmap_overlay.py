"""AI overlays for the 2D slice views: explanation heat map, colour bar, finding boxes and markers.

Maps come on the volume grid ``[k, j, i]`` (``PipelineResult.maps``; float in [0, 1]; a finding's
own map may cover only its region, :class:`ai.region_map.RegionMap`). Where a map, a box or a
centre falls on the displayed plane comes from `viewer.core.map_planes` (cut like the image, so it
follows orientation, slice and slab) and the colours from `viewer.core.map_colouring`; here the
plane is drawn into the same target rectangle as the image (``ScreenTransform``), so it follows
zoom and pan; it is independent of W/L.

Qt: :class:`AIOverlay` holds the findings, maps, opacity, visibility and selection and emits
``changed``. It is a ``SliceView`` layer (drawn over the image, under crosshair and text)::

    overlay = AIOverlay(window)
    overlay.attach(window.grid)        # grid.add_layer(overlay.paint_view) + repaint on change
    # or, per view: view.add_layer(overlay.paint_view)

:func:`frame_of` reads what it needs from a ``SliceView`` (volume, geometry, view, slice, slab,
transform, size). ``paint`` caches the coloured plane per view until something changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen

from ai.findings import Finding
from ai.region_map import ExplanationMap, RegionMap, combine_maps, full_map
from viewer.core.map_colouring import colour_bar_rgba, heat_rgba
from viewer.core.map_planes import box_on_plane, displayed_slices, map_plane, marker_on_plane
from viewer.core.reslice import PlaneGeometry
from viewer.core.view_state import ScreenTransform
from viewer.core.volume import Volume
from viewer.ui.finding_labels import FindingLabels

PASS_COLOUR = QColor(255, 40, 40)
BELOW_COLOUR = QColor(255, 210, 0)
SELECTED_COLOUR = QColor(0, 255, 255)
WHOLE_IMAGE = None  # map key meaning "every map (their maximum)"


COLOUR_BAR_TOP = 80  # below four lines of top-right corner text


def colour_bar_rect(width: int, height: int) -> QRectF:
    """Where the colour bar goes: right edge, from below the corner text to above the right letter."""
    letter_top = height / 2 - 11 - 6  # (the right letter's box is 22 px high around the middle)
    bar_h = max(40.0, min(160.0, letter_top - COLOUR_BAR_TOP))
    return QRectF(width - 30, max(4.0, letter_top - bar_h), 12, bar_h)


def slice_reach(finding: Finding, geometry: PlaneGeometry) -> float:
    """How many slices from its centre a finding's marker stays visible (half its extent)."""
    if finding.box_kji is None:
        return 0.5
    axis = geometry.axes.slice_axis
    return max(0.5, (finding.box_kji[3 + axis] - finding.box_kji[axis]) / 2.0)


# --- what one view shows now -------------------------------------------------------------------
@dataclass(frozen=True)
class OverlayFrame:
    """Everything :meth:`AIOverlay.paint` needs about the view being painted."""

    volume: Volume
    geometry: PlaneGeometry
    view: str
    slice_index: int
    slab_mode: str | None
    slab_mm: float
    transform: ScreenTransform
    size: tuple[int, int]

    @property
    def slices(self) -> tuple[int, int]:
        slab = self.slab_mode if not self.volume.is_2d else None
        return displayed_slices(self.geometry, self.slice_index, slab, self.slab_mm)


def frame_of(view: Any) -> OverlayFrame | None:
    """The :class:`OverlayFrame` of a ``viewer.ui.slice_view.SliceView`` (None when empty)."""
    model = view.model
    transform = view.transform()
    if model.volume is None or view.geometry is None or transform is None:
        return None
    return OverlayFrame(model.volume, view.geometry, str(view.state.kind), view.slice_index,
                        model.slab_mode, model.slab_mm, transform, (view.width(), view.height()))


def _font(size: int) -> QFont:
    font = QFont("DejaVu Sans")
    font.setPixelSize(size)
    return font


class AIOverlay(QObject):
    """Findings + maps of the open series, and how they are shown (shared by every view)."""

    changed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.findings: list[Finding] = []
        self.maps: dict[str, ExplanationMap] = {}
        self.map_key: str | None = WHOLE_IMAGE
        self.opacity = 0.5
        self.floor = 0.2  # map values at or below this are not drawn (a faint map does not veil the image)
        self.heat_visible = True
        self.boxes_visible = True
        self.colour_bar_visible = True
        self.selected_id: str | None = None
        self._combined: np.ndarray | None = None
        self._current: tuple[str, np.ndarray] | None = None
        self._finding_keys: set[str] = set()
        self._cache: dict[str, tuple[tuple[object, ...], QImage, np.ndarray]] = {}
        self.labels = FindingLabels()  # where each finding's label goes (and went, for tests)

    # --- state ------------------------------------------------------------------------------
    def set_results(self, findings: Sequence[Finding], maps: dict[str, ExplanationMap]) -> None:
        """New findings and maps (maps on the volume grid; keys = ``Finding.explanation``)."""
        self.findings, self.maps = list(findings), dict(maps)
        self._finding_keys = {f.explanation for f in self.findings if f.explanation in self.maps}
        self.map_key, self.selected_id, self._combined, self._current = WHOLE_IMAGE, None, None, None
        self._changed()

    def clear(self) -> None:
        self.set_results([], {})

    def set_findings(self, findings: Sequence[Finding]) -> None:
        """Draw only these findings (e.g. those the findings panel's filters let through); the
        maps, the map shown and the selection stay."""
        self.findings = list(findings)
        self._combined = None
        self._changed()

    def set_opacity(self, opacity: float) -> None:
        self.opacity = float(np.clip(opacity, 0.0, 1.0))
        self._changed()

    def set_heat_visible(self, visible: bool) -> None:
        self.heat_visible = bool(visible)
        self._changed()

    def toggle_heat(self) -> None:
        self.set_heat_visible(not self.heat_visible)

    def set_boxes_visible(self, visible: bool) -> None:
        self.boxes_visible = bool(visible)
        self._changed()

    def show_map(self, key: str | None) -> None:
        """Show one map (a finding's ``explanation`` key) or, with None, every map at once."""
        if key is not None and key not in self.maps:
            raise KeyError(f"no explanation map {key!r} (have: {', '.join(self.maps) or 'none'})")
        self.map_key = key
        self._changed()

    def select_finding(self, finding: Finding | None, show_its_map: bool = True) -> None:
        """Highlight a finding; by default show its own map (per-finding overlay)."""
        self.selected_id = None if finding is None else finding.id
        if finding is not None and show_its_map and finding.explanation in self.maps:
            self.map_key = finding.explanation
        self._changed()

    def _changed(self) -> None:
        self._cache.clear()
        self.changed.emit()

    def _shown_maps(self) -> list[ExplanationMap]:
        """Every map except those that belong only to findings not drawn now (filtered out)."""
        drawn = {f.explanation for f in self.findings}
        hidden = {key for key in self._finding_keys if key not in drawn}
        return [heat for key, heat in self.maps.items() if key not in hidden]

    def current_map(self) -> np.ndarray | None:
        """The map shown now: the chosen one (a finding's own), or the maximum of the drawn findings'."""
        if self.map_key is not None:
            if self.map_key not in self.maps:
                return None
            if self._current is None or self._current[0] != self.map_key:
                self._current = (self.map_key, full_map(self.maps[self.map_key]))
            return self._current[1]
        if self._combined is None:
            self._combined = combine_maps(self._shown_maps())
        return self._combined

    def current_floor(self) -> float:
        """The floor below which heat is not drawn: none for a finding's own map that covers only its
        region (it cannot veil the rest of the image), :attr:`floor` otherwise."""
        local = isinstance(self.maps.get(self.map_key or ""), RegionMap)
        return 0.0 if local else self.floor

    # --- painting ---------------------------------------------------------------------------
    def paint_view(self, painter: QPainter, view: Any) -> None:
        """The ``SliceView.add_layer`` callback."""
        self.paint(painter, frame_of(view))

    def attach(self, grid: Any) -> None:
        """Draw on every slice view of a ``ViewGrid`` and repaint them when the overlay changes."""
        grid.add_layer(self.paint_view)
        self.changed.connect(grid.update_views)

    def heat_image(self, frame: OverlayFrame) -> QImage | None:
        """The coloured map plane of ``frame`` as an ARGB image (cached per view)."""
        if not self.heat_visible or self.opacity <= 0.0:
            return None
        try:
            heat = self.current_map()
        except ValueError:  # maps on different grids: nothing sensible to combine
            return None
        if heat is None or heat.shape != frame.volume.shape:  # a map of another series/grid
            return None
        key = (self.map_key, id(heat), frame.slice_index, frame.slab_mode, frame.slab_mm, frame.view,
               id(frame.volume))
        cached = self._cache.get(frame.view)
        if cached is None or cached[0] != key:
            slab = frame.slab_mode if not frame.volume.is_2d else None
            plane = map_plane(heat, frame.volume, frame.view, frame.slice_index, slab, frame.slab_mm,
                              frame.geometry)
            rgba = np.ascontiguousarray(heat_rgba(plane, self.opacity, self.current_floor()))
            rows, cols = plane.shape
            image = QImage(rgba.data, cols, rows, cols * 4, QImage.Format.Format_RGBA8888)
            cached = (key, image, rgba)  # the array keeps the QImage's memory alive
            self._cache[frame.view] = cached
        return cached[1]

    def paint(self, painter: QPainter, frame: OverlayFrame | None) -> None:
        """Draw heat map, colour bar, boxes and markers over a view's image (call per frame)."""
        if frame is None:
            return
        painter.save()
        image = self.heat_image(frame)
        if image is not None:
            rows, cols = frame.geometry.shape
            t = frame.transform
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
            painter.drawImage(QRectF(t.x0, t.y0, cols * t.sx, rows * t.sy), image)
            if self.colour_bar_visible:
                self.paint_colour_bar(painter, frame.size)
        if self.boxes_visible:
            self._paint_findings(painter, frame)
        painter.restore()

    def paint_colour_bar(self, painter: QPainter, size: tuple[int, int]) -> None:
        """A vertical colour bar at the view's right edge, labelled 0 and 1 on a dark backing, between
        the top-right corner text and the right orientation letter (never over either)."""
        rect = colour_bar_rect(*size)
        bar_h = int(rect.height())
        rgba = np.ascontiguousarray(colour_bar_rgba(bar_h, 12))
        image = QImage(rgba.data, 12, bar_h, 48, QImage.Format.Format_RGBA8888)
        painter.fillRect(rect.adjusted(-10, -4, 3, 4), QColor(0, 0, 0, 170))
        painter.drawImage(rect, image)
        painter.setPen(QColor(235, 235, 200))
        painter.setFont(_font(10))
        painter.drawText(QPointF(rect.left() - 10, rect.top() + 8), "1")
        painter.drawText(QPointF(rect.left() - 10, rect.bottom()), "0")

    def _paint_findings(self, painter: QPainter, frame: OverlayFrame) -> None:
        """Boxes and markers, then their labels placed where they hide nothing (finding_labels)."""
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        shapes = []
        for finding in self.findings:
            selected = finding.id == self.selected_id
            colour = SELECTED_COLOUR if selected else (PASS_COLOUR if finding.marked
                                                       else BELOW_COLOUR)
            painter.setPen(QPen(colour, 2.5 if selected else 1.5))
            shape = self._paint_finding(painter, frame, finding)
            if shape is not None:
                shapes.append((shape, f"{finding.label} {finding.score:.2f}", colour))
        self.labels.paint(painter, frame, shapes)

    @staticmethod
    def _paint_finding(painter: QPainter, frame: OverlayFrame, finding: Finding) -> QRectF | None:
        """Draw the finding's box (or marker) on this plane; returns its screen rectangle."""
        t = frame.transform
        outline = None if finding.box_kji is None else box_on_plane(finding.box_kji, frame.geometry,
                                                                    frame.slices)
        if outline is not None:
            r0, c0, r1, c1 = outline
            rect = QRectF(QPointF(*t.to_screen(r0, c0)), QPointF(*t.to_screen(r1, c1))).normalized()
            painter.drawRect(rect)
            return rect
        if finding.center_kji is None:
            return None
        marker = marker_on_plane(finding.center_kji, frame.geometry, frame.slices,
                                 slice_reach(finding, frame.geometry))
        if marker is None:
            return None
        x, y = t.to_screen(*marker)
        painter.drawEllipse(QPointF(x, y), 8.0, 8.0)
        return QRectF(x - 8.0, y - 8.0, 16.0, 16.0)
