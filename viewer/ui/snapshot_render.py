"""Render what a slice view shows to an image, offscreen — the same `SliceView` code path."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage

from viewer.core.view_state import ViewerModel, ViewKind
from viewer.core.volume import Volume
from viewer.ui.slice_view import SliceView

_NORMAL_AXIS = {ViewKind.AXIAL: 2, ViewKind.CORONAL: 1, ViewKind.SAGITTAL: 0}


def slice_at_mm(model: ViewerModel, kind: ViewKind, mm: float) -> int:
    """Slice of ``kind`` whose centre lies nearest ``mm`` along the view's patient axis (z, y or x)."""
    geometry = model.geometry(kind)
    centres = np.array([geometry.slice_center(s)[_NORMAL_AXIS[kind]] for s in range(geometry.n_slices)])
    return int(np.argmin(np.abs(centres - mm)))


def prepare_view(volume: Volume, kind: ViewKind = ViewKind.AXIAL, *, info: dict[str, str] | None = None,
                 slice_number: int | None = None, z_mm: float | None = None, preset: str | None = None,
                 size: tuple[int, int] = (768, 768)) -> SliceView:
    """A sized, unshown `SliceView` on a fresh model; ``slice_number`` is 1-based as in "Im: n/N"."""
    model = ViewerModel()
    model.set_volume(volume, info)
    model.show_crosshair = False
    view = SliceView(model, kind)
    view.resize(*size)
    if slice_number is not None:
        if not 1 <= slice_number <= view.n_slices:
            raise ValueError(f"--slice must be within 1..{view.n_slices} for the {kind} view")
        view.set_slice(slice_number - 1)
    elif z_mm is not None:
        view.set_slice(slice_at_mm(model, kind, z_mm))
    if preset is not None:
        model.apply_named_preset(preset)
    return view


def render_slice(volume: Volume, kind: ViewKind = ViewKind.AXIAL, **options: object) -> QImage:
    """The view's pixels as a QImage (see `prepare_view` for the options)."""
    return prepare_view(volume, kind, **options).render_image()  # type: ignore[arg-type]
