"""Nodule candidates on a whole chest CT (SimpleITK + numpy): lung mask, then dense blobs at several scales.

1. Lung mask on a :data:`COARSE_MM` grid: air (< −400 HU) not connected to the in-plane border,
   components ≥ 10 % of the largest, hole-filled, then **closed in-plane by** :data:`CLOSE_MM` so that
   notches made by nodules on the pleura (juxtapleural nodules) and masses against the chest wall or
   mediastinum come back inside the lungs.
2. Dense tissue (> :data:`DENSE_HU`) inside the closed mask: its connected components as they are and
   after an opening by :data:`OPEN_MM` (cuts thin vessels off), and the components of its erosions by
   :data:`CORE_MM` (cores of nodules or masses fused with vessels, pleura or diaphragm; their diameter
   is grown back by twice the erosion). Box structuring elements in numpy on the coarse grid. Every
   component whose equivalent diameter lies in :data:`DIAMETER_RANGE_MM` and whose elongation is below
   :data:`MAX_ELONGATION` is a candidate.
3. Duplicates (centres closer than max(:data:`MIN_GAP_MM`, d/4) to a kept, larger candidate) are dropped.

No cap on the number: everything found is scored.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import SimpleITK as sitk

COARSE_MM = 2.0
DENSE_HU = -500.0
CLOSE_MM = 12.0
OPEN_MM = (0.0, 2.0)  # opening radii: thin vessels cut off
CORE_MM = (4.0, 8.0)  # erosion radii: cores of thick blobs fused with other dense tissue
DIAMETER_RANGE_MM = (3.0, 70.0)
MAX_ELONGATION = 3.5
MIN_GAP_MM = 4.0


@dataclass(frozen=True)
class Candidate:
    centre_mm: np.ndarray  # physical (x, y, z) as SimpleITK gives it
    diameter_mm: float  # equivalent-sphere diameter of the component
    voxels: int
    scale_mm: float  # opening radius that produced it


def samples_within(n: int, spacing: float, new_spacing: float) -> int:
    """How many samples at ``new_spacing`` fit between the first and last of ``n`` at ``spacing``: a grid
    that reaches past the data would fill whole slices with the default (air), and one such slice joins
    the lungs to the outside air — the lung mask is then lost (seen on a 275 × 1 mm scan at 2.5 mm)."""
    return max(1, int(np.floor((n - 1) * spacing / new_spacing + 1e-6)) + 1)


def resample(img: sitk.Image, spacing: float, default: float = -1000.0) -> sitk.Image:
    size = [samples_within(n, s, spacing) for n, s in zip(img.GetSize(), img.GetSpacing(), strict=True)]
    return sitk.Resample(img, size, sitk.Transform(), sitk.sitkLinear, img.GetOrigin(), (spacing,) * 3,
                         img.GetDirection(), default, sitk.sitkFloat32)


def _box_pass(mask: np.ndarray, radius: int, op, axes: tuple[int, ...]) -> np.ndarray:
    """Separable box dilation (op=np.logical_or) or erosion (np.logical_and) along ``axes``."""
    out = mask
    for axis in axes:
        for _ in range(radius):
            padded = np.pad(out, [(1, 1) if a == axis else (0, 0) for a in range(3)], mode="edge")
            lo = np.take(padded, range(0, out.shape[axis]), axis=axis)
            hi = np.take(padded, range(2, out.shape[axis] + 2), axis=axis)
            out = op(op(lo, hi), out)
    return out


def dilate(mask: np.ndarray, radius: int, axes: tuple[int, ...] = (0, 1, 2)) -> np.ndarray:
    return _box_pass(mask.astype(bool), radius, np.logical_or, axes)


def erode(mask: np.ndarray, radius: int, axes: tuple[int, ...] = (0, 1, 2)) -> np.ndarray:
    return _box_pass(mask.astype(bool), radius, np.logical_and, axes)


def _image(array: np.ndarray, like: sitk.Image) -> sitk.Image:
    out = sitk.GetImageFromArray(array.astype(np.uint8))
    out.CopyInformation(like)
    return out


def lung_mask(coarse: sitk.Image) -> sitk.Image:
    """Lungs on the coarse grid, closed in-plane by :data:`CLOSE_MM` (keeps juxtapleural nodules)."""
    air = sitk.GetArrayFromImage(sitk.ConnectedComponent(coarse < -400))
    faces = np.concatenate([air[:, [0, -1]].ravel(), air[:, :, [0, -1]].ravel()])
    counts = np.bincount(air.ravel())
    counts[0] = 0
    counts[np.unique(faces)] = 0
    if counts.max() == 0:
        return _image(np.zeros(air.shape, bool), coarse)
    lungs = np.isin(air, np.nonzero(counts >= 0.1 * counts.max())[0])
    r = max(1, round(CLOSE_MM / coarse.GetSpacing()[0]))
    closed = erode(dilate(lungs, r, (1, 2)), r, (1, 2)) | lungs
    return sitk.BinaryFillhole(_image(closed, coarse))


def candidates(coarse: sitk.Image, lungs: sitk.Image) -> list[Candidate]:
    """Dense blobs inside the lungs at every scale, largest first, duplicates dropped."""
    dense = (sitk.GetArrayFromImage(coarse) > DENSE_HU) & (sitk.GetArrayFromImage(lungs) > 0)
    spacing = coarse.GetSpacing()[0]
    found: list[Candidate] = []
    for scale in OPEN_MM:
        r = round(scale / spacing)
        found += _components(_image(dilate(erode(dense, r), r) if r else dense, coarse), scale, 0.0)
    for scale in CORE_MM:
        r = round(scale / spacing)
        found += _components(_image(erode(dense, r), coarse), -scale, 2 * r * spacing)
    return deduplicate(found)


def deduplicate(found: list[Candidate]) -> list[Candidate]:
    """Largest first; a candidate closer than max(MIN_GAP_MM, d/4) to a kept one's centre is dropped."""
    found = sorted(found, key=lambda c: -c.voxels)
    centres = np.zeros((len(found), 3))
    reach = np.zeros(len(found))
    kept: list[Candidate] = []
    for cand in found:
        n = len(kept)
        if n and np.any(np.linalg.norm(centres[:n] - cand.centre_mm, axis=1) <= reach[:n]):
            continue
        centres[n], reach[n] = cand.centre_mm, max(MIN_GAP_MM, cand.diameter_mm / 4)
        kept.append(cand)
    return kept


def _components(binary: sitk.Image, scale: float, grow_mm: float) -> list[Candidate]:
    """Components of ``binary`` as candidates; ``grow_mm`` is added to the diameter of eroded cores."""
    stats = sitk.LabelShapeStatisticsImageFilter()
    stats.ComputeFeretDiameterOff()
    stats.ComputePerimeterOff()
    stats.Execute(sitk.ConnectedComponent(binary))
    lo, hi = DIAMETER_RANGE_MM
    out = []
    for label in stats.GetLabels():
        diameter = stats.GetEquivalentSphericalRadius(label) * 2 + grow_mm
        if lo <= diameter <= hi and stats.GetElongation(label) < MAX_ELONGATION:
            out.append(Candidate(np.array(stats.GetCentroid(label)), diameter,
                                 int(np.pi / 6 * diameter**3), scale))
    return out


def find(img: sitk.Image) -> tuple[list[Candidate], sitk.Image]:
    """Candidates of a CT (HU, SimpleITK image) and the closed lung mask on the coarse grid."""
    coarse = resample(img, COARSE_MM)
    lungs = lung_mask(coarse)
    return candidates(coarse, lungs), lungs
