"""Jump to a finding: move the shared cursor to it and centre it in every slice view.

    panel.finding_activated.connect(lambda f: jump_to_finding(window.model, window.grid.views.values(), f))

The cursor is the voxel every MPR view crosses at, so each view shows the finding's slice;
each view's pan is then set so that the finding sits at the view's centre (zoom is kept).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from ai.findings import Finding
from viewer.ui.view_state import ScreenTransform, ViewerModel


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


def jump_to_finding(model: ViewerModel, views: Iterable[Any], finding: Finding) -> bool:
    """:func:`jump_to` the finding's centre; False (nothing moves) when it has none."""
    if finding.center_kji is None or model.volume is None:
        return False
    jump_to(model, views, finding.center_kji)
    return True
