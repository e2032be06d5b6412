"""Explanation maps that cover part of the image: one finding's own map, kept small.

A pipeline's ``maps`` values are either a full array on the image grid ``[k, j, i]`` or a
:class:`RegionMap` (values on the image grid inside a box, zero elsewhere): a CT with 160 nodule
candidates gets 160 maps of a few hundred kB instead of 160 copies of the CT. Consumers go through
:func:`full_map`, :func:`map_slice`, :func:`combine_maps` and :func:`map_peak_kji`, which accept both.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class RegionMap:
    """``values`` (float32 in [0, 1]) placed at voxel ``start`` ``(k, j, i)`` of a grid of ``grid_shape``.

    ``cells_mm`` is the map's own resolution (e.g. 4 mm CAM cells) for the reader's information.
    """

    values: np.ndarray
    start: tuple[int, int, int]
    grid_shape: tuple[int, int, int]
    cells_mm: tuple[float, float, float] | None = None

    @property
    def shape(self) -> tuple[int, int, int]:
        """The grid's shape (as for a full map)."""
        return self.grid_shape

    def _slices(self) -> tuple[tuple[slice, ...], tuple[slice, ...]]:
        """(destination slices on the grid, source slices in ``values``), clipped to the grid."""
        start = np.asarray(self.start)
        lo = np.maximum(start, 0)
        hi = np.minimum(start + np.asarray(self.values.shape), self.grid_shape)
        hi = np.maximum(hi, lo)
        dst = tuple(slice(int(a), int(b)) for a, b in zip(lo, hi, strict=True))
        src = tuple(slice(int(a - s), int(b - s)) for a, b, s in zip(lo, hi, start, strict=True))
        return dst, src

    def paste_into(self, grid: np.ndarray) -> None:
        """``grid = max(grid, this map)`` inside the region."""
        dst, src = self._slices()
        grid[dst] = np.maximum(grid[dst], self.values[src])

    def full(self) -> np.ndarray:
        out = np.zeros(self.grid_shape, np.float32)
        self.paste_into(out)
        return out


ExplanationMap = np.ndarray | RegionMap


def full_map(heat: ExplanationMap) -> np.ndarray:
    """The map on the whole grid, float32."""
    return heat.full() if isinstance(heat, RegionMap) else np.asarray(heat, np.float32)


def map_slice(heat: ExplanationMap, k: int) -> np.ndarray:
    """Slice ``k`` of the map, (J, I) float32."""
    if not isinstance(heat, RegionMap):
        return np.asarray(heat[k], np.float32)
    out = np.zeros(heat.grid_shape[1:], np.float32)
    dst, src = heat._slices()
    if dst[0].start <= k < dst[0].stop:
        row = k - heat.start[0]
        out[dst[1:]] = heat.values[row][src[1:]]
    return out


def combine_maps(maps: Iterable[ExplanationMap]) -> np.ndarray | None:
    """The maximum of maps on one grid (None without maps; ValueError for different grids)."""
    maps = list(maps)
    if not maps:
        return None
    shapes = {tuple(m.shape) for m in maps}
    if len(shapes) > 1:
        raise ValueError(f"maps on different grids cannot be combined: {shapes}")
    out = np.zeros(shapes.pop(), np.float32)
    for heat in maps:
        if isinstance(heat, RegionMap):
            heat.paste_into(out)
        else:
            np.maximum(out, np.asarray(heat, np.float32), out=out)
    return out


def map_peak_kji(heat: ExplanationMap) -> tuple[float, float, float] | None:
    """Voxel index ``(k, j, i)`` of the map's maximum: the centre of the voxels at the maximum (a
    coarse map's hottest cell covers several); None for a map without heat."""
    values = heat.values if isinstance(heat, RegionMap) else np.asarray(heat)
    top = float(values.max()) if values.size else 0.0
    if top <= 0:
        return None
    peak = np.argwhere(values >= top * (1 - 1e-6)).mean(axis=0)
    offset = heat.start if isinstance(heat, RegionMap) else (0, 0, 0)
    return tuple(float(p + o) for p, o in zip(peak, offset, strict=True))  # type: ignore[return-value]
