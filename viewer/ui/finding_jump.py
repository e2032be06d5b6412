"""Between findings and slice views: jump to a finding (cursor + centre it in every view), and
pick a missed finding with a click.

    panel.finding_activated.connect(lambda f: jump_to_finding(window.model, window.grid.views.values(), f))
    MissedFindingPicker(panel, window.grid.views.values())   # clicks in "add missed" mode

The cursor is the voxel every MPR view crosses at, so each view shows the finding's slice;
each view's pan is then set so that the finding sits at the view's centre. With ``zoom=True`` (a
click in the findings panel) a view also zooms in until the finding spans a fifth of it (never
out, at most 8×), so that a 15-pixel nodule is not a speck.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt

from ai.findings import Finding
from viewer.core.feedback_db import sop_for_slice
from viewer.core.view_state import ScreenTransform, ViewerModel


def centring_pan(view: Any, row: float, col: float) -> tuple[float, float]:
    """The pan that puts plane pixel (row, col) at the centre of ``view`` at its current zoom."""
    geometry = view.geometry
    size = (view.width(), view.height())
    unpanned = ScreenTransform.fit(geometry.shape, geometry.pixel_spacing, size, view.state.zoom)
    x, y = unpanned.to_screen(row, col)
    return size[0] / 2 - x, size[1] / 2 - y


def jump_to(model: ViewerModel, views: Iterable[Any], kji: Sequence[float]) -> None:
    """Cursor to voxel ``kji`` (fractional allowed) and every view centred on it."""
    model.set_cursor(kji)
    for view in views:
        if view.geometry is None:
            continue
        row, col, _ = view.geometry.from_index(tuple(float(v) for v in kji))
        view.state.pan = centring_pan(view, row, col)
        view.update()


MAX_FINDING_ZOOM = 8.0
FINDING_SHARE = 0.2  # of the view's smaller side


def finding_extent_mm(finding: Finding, spacing: Sequence[float]) -> float | None:
    """The finding's largest extent in mm (its size, else its box), None without either."""
    if finding.size_mm is not None:
        return float(max(finding.size_mm))
    if finding.box_kji is not None:
        box = finding.box_kji
        return float(max((box[n + 3] - box[n]) * spacing[n] for n in range(3)))
    return None


def zoom_to_extent(view: Any, extent_mm: float) -> None:
    """Zoom ``view`` in until ``extent_mm`` spans :data:`FINDING_SHARE` of its smaller side."""
    geometry, size = view.geometry, (view.width(), view.height())
    fitted = ScreenTransform.fit(geometry.shape, geometry.pixel_spacing, size, view.state.zoom)
    on_screen = extent_mm * fitted.sx / geometry.pixel_spacing[1]
    wanted = view.state.zoom * FINDING_SHARE * min(size) / max(on_screen, 1e-6)
    view.state.zoom = float(min(max(view.state.zoom, wanted), MAX_FINDING_ZOOM))


def jump_to_finding(model: ViewerModel, views: Iterable[Any], finding: Finding, zoom: bool = False) -> bool:
    """:func:`jump_to` the finding's centre (zooming in with ``zoom``, see the module docstring);
    False (nothing moves) when it has no centre."""
    if finding.center_kji is None or model.volume is None:
        return False
    views = list(views)
    extent = finding_extent_mm(finding, model.volume.spacing) if zoom else None
    if extent:
        for view in views:
            if view.geometry is not None and view.width() > 0:
                zoom_to_extent(view, extent)
    jump_to(model, views, finding.center_kji)
    return True


@dataclass(frozen=True)
class PickedPoint:
    """A clicked point: voxel index ``[k, j, i]`` (fractional), LPS mm (None without geometry)
    and the SOP Instance UID of its slice (None when unknown, e.g. a resampled volume)."""

    kji: tuple[float, float, float]
    mm: tuple[float, float, float] | None
    sop_instance_uid: str | None


def point_at(view: Any, x: float, y: float) -> PickedPoint | None:
    """What lies under widget position (x, y) of a slice view (None outside the image)."""
    transform, volume = view.transform(), view.model.volume
    if transform is None or volume is None:
        return None
    row, col = transform.to_plane(x, y)
    rows, cols = view.geometry.shape
    if not (-0.5 <= row <= rows - 0.5 and -0.5 <= col <= cols - 0.5):
        return None
    kji = tuple(float(v) for v in view.geometry.to_index(row, col, view.slice_index))
    mm = tuple(float(v) for v in volume.index_to_patient(kji)) if volume.has_geometry else None
    return PickedPoint(kji, mm, sop_for_slice(volume.sop_instance_uids, kji[0]))  # type: ignore[arg-type]


class MissedFindingPicker(QObject):
    """While the findings panel is in "add missed finding" mode, a left click in any slice view
    stores a missed finding there (and is not passed on to the view's tools)."""

    def __init__(self, panel: Any, views: Iterable[Any]) -> None:
        super().__init__(panel)
        self.panel = panel
        self.views = list(views)
        for view in self.views:
            view.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt API)
        press = event.type() == QEvent.Type.MouseButtonPress
        if press and self.panel.missed_mode and watched in self.views \
                and event.button() == Qt.MouseButton.LeftButton:
            self.pick(watched, event.position().x(), event.position().y())
            return True
        return super().eventFilter(watched, event)

    def pick(self, view: Any, x: float, y: float) -> int | None:
        point = point_at(view, x, y)
        volume = view.model.volume
        if point is None or volume is None:
            return None
        return self.panel.add_missed(volume.study_instance_uid, volume.series_instance_uid, point.kji,
                                     point.mm, point.sop_instance_uid)
