"""Where an explanation map, a finding's box and its centre fall on a displayed plane (no Qt).

A map on the volume grid ``[k, j, i]`` is cut by the *same* functions the slice view uses for the
image (:func:`viewer.core.reslice.extract_plane` / ``extract_slab`` on ``volume.with_voxels(map)``),
so it follows orientation flips/transposes, the slice and the slab; in a slab of any mode it shows
its maximum through the slab. Boxes and centres are given in ``[k, j, i]`` voxel coordinates.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from viewer.core.reslice import PlaneGeometry, extract_plane, extract_slab, plane_geometry, slab_range
from viewer.core.volume import Volume


def map_plane(heat: np.ndarray, volume: Volume, view: str, slice_index: int, slab_mode: str | None = None,
              slab_mm: float = 0.0, geometry: PlaneGeometry | None = None) -> np.ndarray:
    """The displayed plane (rows, cols) of a map on ``volume``'s grid, cut like the image."""
    if heat.shape != volume.shape:
        raise ValueError(f"map shape {heat.shape} is not the volume's {volume.shape}")
    on_grid = volume.with_voxels(heat)
    geometry = geometry or plane_geometry(volume, view)
    if slab_mode and not volume.is_2d:
        return extract_slab(on_grid, view, slice_index, slab_mm, "mip", geometry)
    return extract_plane(on_grid, view, slice_index, geometry)


def displayed_slices(geometry: PlaneGeometry, slice_index: int, slab_mode: str | None,
                     slab_mm: float) -> tuple[int, int]:
    """[start, stop) of the view's slices shown now (one slice, or the slab)."""
    if slab_mode:
        return slab_range(geometry, slice_index, slab_mm)
    return slice_index, slice_index + 1


def box_on_plane(box_kji: Sequence[float], geometry: PlaneGeometry,
                 slices: tuple[int, int]) -> tuple[float, float, float, float] | None:
    """The box's outline ``(row0, col0, row1, col1)`` in plane pixel-centre coordinates (edges at
    ±0.5), or None when the box does not reach the displayed ``slices`` [start, stop)."""
    lo, hi = np.asarray(box_kji[:3], float), np.asarray(box_kji[3:], float)
    axis = geometry.axes.slice_axis
    if not (np.ceil(lo[axis]) < slices[1] and hi[axis] > slices[0]):
        return None
    r0, c0, _ = geometry.from_index(lo - 0.5)
    r1, c1, _ = geometry.from_index(hi - 0.5)
    return min(r0, r1), min(c0, c1), max(r0, r1), max(c0, c1)


def marker_on_plane(center_kji: Sequence[float], geometry: PlaneGeometry, slices: tuple[int, int],
                    reach: float = 0.5) -> tuple[float, float] | None:
    """(row, col) of a finding's centre when it lies within ``reach`` slices of the shown ones."""
    row, col, sl = geometry.from_index(np.asarray(center_kji, float))
    if slices[0] - reach <= sl <= slices[1] - 1 + reach:
        return row, col
    return None


def box_corners_mm(volume: Volume, box_kji: Sequence[float]) -> np.ndarray:
    """(8, 3) LPS corners of a box's outer voxel edges (for a 3D outline actor)."""
    lo, hi = np.asarray(box_kji[:3], float) - 0.5, np.asarray(box_kji[3:], float) - 0.5
    corners = np.array([[k, j, i] for k in (lo[0], hi[0]) for j in (lo[1], hi[1]) for i in (lo[2], hi[2])])
    return volume.index_to_patient(corners)
