"""Resampling an irregular or tilted stack onto a regular, orthogonal grid.

Acquired slices are parallel planes (one ImageOrientationPatient) but may be unevenly spaced
along their normal, and with a gantry tilt each slice's origin is shifted in-plane relative to
its neighbours (the true grid is sheared). The regular grid uses the slices' own row, column and
normal directions, keeps the in-plane spacing, takes the finest slice step as its spacing, and
covers every acquired slice. Each output voxel is interpolated linearly along the normal between
the two acquired slices around it and bilinearly within each of them (their in-plane shift is a
pure translation). Output slices that fall in a gap of missing slices are *not* interpolated:
they are set to the volume's minimum (shown black) and reported.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from viewer.core.slice_geometry import StackGeometry


@dataclass(frozen=True)
class RegularGrid:
    """The regular output grid and how each of its slices was filled."""

    voxels: np.ndarray
    origin: np.ndarray
    spacing: tuple[float, float, float]  # (dk, dj, di)
    blank_slices: tuple[int, ...]  # output slices inside gaps, left at the minimum


def output_slice_spacing(geometry: StackGeometry) -> float:
    """The finest acquired step, but never below a quarter of the typical step."""
    steps = geometry.steps_mm
    if not len(steps):
        return geometry.nominal_spacing_mm
    return float(max(steps.min(), 0.25 * geometry.nominal_spacing_mm))


def resample_to_regular_grid(stack: np.ndarray, geometry: StackGeometry) -> RegularGrid:
    """Resample ``stack`` (sorted slices [k, j, i]) onto a regular grid; see module doc."""
    dj, di = geometry.pixel_spacing
    offsets = geometry.positions - geometry.positions[0]
    shift_i = offsets @ geometry.row_direction / di  # in-plane shift of each slice, pixels
    shift_j = offsets @ geometry.column_direction / dj
    pad_i0, pad_j0 = -min(shift_i.min(), 0.0), -min(shift_j.min(), 0.0)
    n_i = stack.shape[2] + int(np.ceil(shift_i.max() + pad_i0))
    n_j = stack.shape[1] + int(np.ceil(shift_j.max() + pad_j0))
    dk = output_slice_spacing(geometry)
    along = geometry.along_normal_mm - geometry.along_normal_mm[0]
    n_k = int(np.floor(along[-1] / dk + 1e-6)) + 1
    background = stack.min()
    out = np.full((n_k, n_j, n_i), background, dtype=stack.dtype)
    gap_spans = [(g.after_position_mm - geometry.along_normal_mm[0],
                  g.before_position_mm - geometry.along_normal_mm[0]) for g in geometry.gaps]
    blank = []
    for k in range(n_k):
        s = k * dk
        if any(a < s < b for a, b in gap_spans):
            blank.append(k)
            continue
        out[k] = _interpolate_at(stack, along, s, shift_j + pad_j0, shift_i + pad_i0, out[k])
    origin = (geometry.positions[0] - pad_i0 * di * geometry.row_direction
              - pad_j0 * dj * geometry.column_direction)
    return RegularGrid(out, origin, (dk, dj, di), tuple(blank))


def _interpolate_at(stack: np.ndarray, along: np.ndarray, s: float, shift_j: np.ndarray,
                    shift_i: np.ndarray, template: np.ndarray) -> np.ndarray:
    """Value of the plane at distance ``s`` along the normal, on the output in-plane grid."""
    b = int(np.clip(np.searchsorted(along, s, side="right"), 1, len(along) - 1))
    a = b - 1
    span = along[b] - along[a]
    w = 0.0 if span <= 0 else float(np.clip((s - along[a]) / span, 0.0, 1.0))
    plane = np.zeros(template.shape, dtype=np.float32)
    covered = np.zeros(template.shape, dtype=np.float32)
    for idx, weight in ((a, 1.0 - w), (b, w)):
        if weight > 0:
            _add_shifted(stack[idx], shift_j[idx], shift_i[idx], weight, plane, covered)
    result = np.where(covered > 0.5, plane / np.maximum(covered, 1e-6), template.astype(np.float32))
    return _cast(result, template.dtype)


def _add_shifted(image: np.ndarray, dj: float, di: float, weight: float,
                 acc: np.ndarray, covered: np.ndarray) -> None:
    """Accumulate ``image`` translated by (dj, di) pixels (bilinear) into ``acc``."""
    j0, i0 = int(np.floor(dj)), int(np.floor(di))
    fj, fi = dj - j0, di - i0
    rows, cols = image.shape
    for oj, wj in ((j0, 1 - fj), (j0 + 1, fj)):
        for oi, wi in ((i0, 1 - fi), (i0 + 1, fi)):
            w = weight * wj * wi
            if w <= 0:
                continue
            dst = (slice(oj, oj + rows), slice(oi, oi + cols))
            target = acc[dst]
            src = image[: target.shape[0], : target.shape[1]]
            target += w * src
            covered[dst] += w


def _cast(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    if np.dtype(dtype).kind in "iu":
        return np.rint(values).astype(dtype)
    return values.astype(dtype)
