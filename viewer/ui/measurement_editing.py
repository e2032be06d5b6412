"""Editing drawn measurements on a slice view: click a measurement (its line or outline, or a
handle) to select it, drag a handle to reshape it or the outline to move it, Delete removes it.
The result (length, angle, ROI statistics) is computed again at every step, always from the
unfiltered pixels of the plane (``SliceView.plane()``; view filters are display-only).

Geometry is Qt-free (``viewer.core.measurements``: ``handles``, ``moved_handle``,
``translated``, ``remeasure``); this module only turns mouse positions into those calls.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF

from viewer.core.measurements import Measurement, handles, moved_handle, remeasure, translated

if TYPE_CHECKING:
    from viewer.ui.slice_view import SliceView

#: How close (screen pixels) the mouse must be to a handle or an outline to take it.
GRAB_PX = 7.0


def _segment_distance(p: QPointF, a: QPointF, b: QPointF) -> float:
    dx, dy = b.x() - a.x(), b.y() - a.y()
    length2 = dx * dx + dy * dy
    t = 0.0 if length2 == 0 else max(0.0, min(1.0, ((p.x() - a.x()) * dx + (p.y() - a.y()) * dy) / length2))
    return math.hypot(p.x() - a.x() - t * dx, p.y() - a.y() - t * dy)


def outline_distance(item: Measurement, screen: list[QPointF], pos: QPointF) -> float:
    """Screen distance from ``pos`` to the drawn line(s) or ROI outline."""
    if item.kind == "rectangle":
        corners = screen + screen[:1]
        return min(_segment_distance(pos, a, b) for a, b in zip(corners, corners[1:], strict=False))
    if item.kind == "ellipse":
        xs, ys = [p.x() for p in screen], [p.y() for p in screen]
        cx, cy = (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2
        a, b = max((max(xs) - min(xs)) / 2, 1e-6), max((max(ys) - min(ys)) / 2, 1e-6)
        radius = math.hypot((pos.x() - cx) / a, (pos.y() - cy) / b)
        return abs(radius - 1.0) * min(a, b)
    return min(_segment_distance(pos, a, b) for a, b in zip(screen, screen[1:], strict=False))


class MeasurementEditor:
    """Select / reshape / move / delete the measurements of one :class:`SliceView`."""

    def __init__(self, view: SliceView) -> None:
        self.view = view
        self._grab: tuple[int, int | None, tuple[float, float]] | None = None  # id, handle, start

    @property
    def active(self) -> bool:
        """A measurement is being dragged."""
        return self._grab is not None

    def hit(self, pos: QPointF) -> tuple[Measurement, int | None] | None:
        """The measurement under ``pos`` and the handle taken (None: the outline), selected first."""
        view, transform = self.view, self.view.transform()
        if transform is None:
            return None
        items = view.model.measurements.for_plane(str(view.state.kind), view.slice_index)
        items.sort(key=lambda m: m.id != view.model.measurements.selected_id)
        for item in items:
            grips = [QPointF(*transform.to_screen(r, c)) for r, c in handles(item)]
            near = [math.hypot(g.x() - pos.x(), g.y() - pos.y()) for g in grips]
            if min(near) <= GRAB_PX:
                return item, near.index(min(near))
            if outline_distance(item, grips, pos) <= GRAB_PX:
                return item, None
        return None

    def press(self, pos: QPointF) -> bool:
        """Take the measurement under ``pos`` (selecting it); False when there is none."""
        hit = self.hit(pos)
        if hit is None:
            return False
        item, handle = hit
        self.view.model.measurements.select(item.id)
        self._grab = (item.id, handle, self.view.transform().to_plane(pos.x(), pos.y()))
        return True

    def drag(self, pos: QPointF) -> bool:
        """Reshape (a handle) or move (the outline) the taken measurement to ``pos``."""
        if self._grab is None:
            return False
        item_id, handle, start = self._grab
        point = self.view.transform().to_plane(pos.x(), pos.y())
        measurements = self.view.model.measurements
        item = measurements.get(item_id)
        if handle is None:
            points = translated(item.points, point[0] - start[0], point[1] - start[1])
            self._grab = (item_id, None, point)
        else:
            points = moved_handle(item.kind, item.points, handle, point)
            if item.kind in ("ellipse", "rectangle"):
                self._grab = (item_id, 0, start)  # the moved corner is points[0] from now on
        measurements.update(self.remeasured(item, points))
        return True

    def release(self) -> bool:
        taken, self._grab = self._grab is not None, None
        return taken

    def remeasured(self, item: Measurement, points: tuple[tuple[float, float], ...]) -> Measurement:
        view = self.view
        model = view.model
        unit = "HU" if model.volume.modality == "CT" else ""
        return remeasure(item, points, view.plane(), model.geometry(view.state.kind).metric, unit)

    def delete_selected(self) -> bool:
        """Delete the selected measurement (the Delete key); False when none is selected."""
        return self.view.model.measurements.remove_selected() is not None
