"""What a radiologist measures on a nodule finding: a 3D mask, its volume and its long/short axes.

The mask is **not learnt**: it is the connected region of voxels above :data:`MASK_HU` that contains the
candidate's centre (or the dense voxel nearest to it), inside a sphere of radius
``max(3, 0.75 · d + 2)`` mm around the centre (``d``: the candidate's diameter) and on the input grid,
after an in-plane opening of one voxel that detaches thin vessels. It lives in a box of the input grid
(:class:`Measured`; ``box_kji`` as :mod:`ai.findings` defines it) and is what a DICOM SEG carries.

Axes as in RECIST/Fleischner practice: on the axial slice where the mask is largest, the long axis is
the longest distance between two mask voxels and the short axis the longest extent perpendicular to it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import SimpleITK as sitk

MASK_HU = -500.0


@dataclass(frozen=True)
class Measured:
    box_kji: tuple[int, int, int, int, int, int]
    mask: np.ndarray  # bool, shape of the box
    volume_mm3: float
    long_axis_mm: float
    short_axis_mm: float


def _box(centre_kji: np.ndarray, radius_mm: float, spacing: np.ndarray,
         shape: tuple) -> tuple[np.ndarray, ...]:
    half = np.ceil(radius_mm / spacing).astype(int) + 1
    c = np.round(centre_kji).astype(int)
    return np.maximum(c - half, 0), np.minimum(c + half + 1, shape)


def region(sub: np.ndarray, centre: np.ndarray, radius_mm: float, spacing: np.ndarray) -> np.ndarray:
    """The thresholded, opened, sphere-limited component at (or nearest to) ``centre`` in ``sub``."""
    idx = np.indices(sub.shape).reshape(3, -1).T
    dist = np.linalg.norm((idx - centre) * spacing, axis=1).reshape(sub.shape)
    dense = (sub > MASK_HU) & (dist <= radius_mm)
    img = sitk.GetImageFromArray(dense.astype(np.uint8))
    opened = sitk.GetArrayFromImage(sitk.BinaryMorphologicalOpening(img, [1, 1, 0], sitk.sitkBall)) > 0
    dense = opened if opened.any() else dense
    if not dense.any():
        return dense
    labels = sitk.GetArrayFromImage(sitk.ConnectedComponent(sitk.GetImageFromArray(dense.astype(np.uint8))))
    seed = np.unravel_index(np.argmin(np.where(dense, dist, np.inf)), sub.shape)
    return labels == labels[seed]


def axes_mm(mask: np.ndarray, spacing: np.ndarray) -> tuple[float, float]:
    """Long and short axis (mm) on the axial slice of ``mask`` with the most voxels."""
    if not mask.any():
        return 0.0, 0.0
    k = int(mask.reshape(mask.shape[0], -1).sum(1).argmax())
    pts = np.argwhere(mask[k]) * spacing[1:]
    if len(pts) > 400:
        pts = pts[np.random.default_rng(0).choice(len(pts), 400, replace=False)]
    d = np.linalg.norm(pts[:, None] - pts[None], axis=-1)
    a, b = np.unravel_index(np.argmax(d), d.shape)
    long_axis = float(d[a, b]) + float(np.mean(spacing[1:]))
    if long_axis <= 0:
        return 0.0, 0.0
    unit = (pts[b] - pts[a]) / max(float(d[a, b]), 1e-6)
    across = pts @ np.array([-unit[1], unit[0]])
    return long_axis, float(across.max() - across.min()) + float(np.mean(spacing[1:]))


def measure(hu: np.ndarray, spacing: tuple[float, float, float], centre_kji: np.ndarray,
            diameter_mm: float) -> Measured:
    """Mask, volume and axes of the nodule at ``centre_kji`` on the input grid (HU array [k, j, i])."""
    spacing_arr = np.asarray(spacing, float)
    radius = max(3.0, 0.75 * diameter_mm + 2.0)
    lo, hi = _box(np.asarray(centre_kji, float), radius, spacing_arr, hu.shape)
    sub = np.asarray(hu[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]], np.float32)
    mask = region(sub, np.asarray(centre_kji, float) - lo, radius, spacing_arr)
    long_axis, short_axis = axes_mm(mask, spacing_arr)
    if mask.any():  # the box tight around the mask
        nz = np.argwhere(mask)
        first, last = nz.min(axis=0), nz.max(axis=0) + 1
        mask = mask[first[0] : last[0], first[1] : last[1], first[2] : last[2]]
        lo, hi = lo + first, lo + last
    box = (*(int(v) for v in lo), *(int(v) for v in hi))
    return Measured(box, mask, float(mask.sum() * np.prod(spacing_arr)), long_axis, short_axis)
