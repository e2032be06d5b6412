"""Body and lung regions of a CT volume, for 3D rendering (Qt/VTK-free; SimpleITK + numpy).

A volume rendering of a chest CT shows the scanner table as a slab under the patient and, with a
lung transfer function, the air outside the body and the chest wall as a haze. This module finds

* the **body**: tissue above ``TISSUE_HU`` after a morphological opening that cuts thin bridges
  (table pad, cables, a blanket), the largest connected component, grown back and filled slice by
  slice (so the lungs and the airway count as inside);
* the **lungs**: air below ``LUNG_AIR_HU`` inside the body, filled slice by slice so that the
  vessels and nodules within them are kept (a nodule touching the chest wall is only partly kept).

The body is found on ~3 mm pixels (a quarter of LIDC's in-plane resolution; its edge is moved
one pixel out, into the air beside the skin), the lungs on ~1.5 mm pixels. Everything outside a
region is set to air (−1000 HU); the voxels kept are the original ones. Volumes that are not CT
(no Hounsfield units) are returned unchanged.

API
---
``BodyRegions.of(volume) -> BodyRegions`` — the two masks at full resolution ([k, j, i] bool).
``BodyRegions.body_only(voxels)`` / ``lungs_only(voxels)`` — voxels with the outside set to air.
``BodyRegions.bounds_mm(volume, region)`` — LPS box (x0, x1, y0, y1, z0, z1) around the body or
    the lungs.
``region_voxels(volume, region) -> np.ndarray`` — ``"all" | "body" | "lungs"``, cached per volume.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np
import SimpleITK as sitk

from viewer.core.volume import Volume

AIR_HU = -1000
#: Tissue (skin, muscle, bone) is above this; the table pad and partial-volume air are mostly below.
TISSUE_HU = -300
#: Lung parenchyma and airway air are below this.
LUNG_AIR_HU = -400
#: Radius of the opening that cuts the body from the table (mm, in-plane).
OPEN_MM = 3.5
REGIONS = ("all", "body", "lungs")
#: In-plane pixel size (mm) the body mask (its edge is in air) and the lung mask are made at.
BODY_PIXEL_MM, LUNG_PIXEL_MM = 3.0, 1.5
#: Less air than this inside the body is no pair of lungs (a head, a limb, a phantom): the lung
#: region is then the body.
MIN_LUNGS_ML = 100.0
#: Air pockets smaller than this fraction of the largest (a lung, or both) are not lung.
MIN_POCKET_FRACTION = 0.2
#: Share of the lungs' voxels left out at each end of their framing box.
LUNG_BOUNDS_TRIM = 0.002


def _mosaic(mask: np.ndarray, gap: int) -> np.ndarray:
    """[k, j, i] stack → one 2D image of its slices one under the other, ``gap`` empty rows
    between them: 2D filters then run once, and nothing crosses from one slice to the next."""
    k, h, w = mask.shape
    out = np.zeros((k, h + gap, w), np.uint8)
    out[:, :h] = mask
    return out.reshape(k * (h + gap), w)


def _unmosaic(image: sitk.Image, shape: tuple[int, int, int]) -> np.ndarray:
    k, h, w = shape
    return sitk.GetArrayViewFromImage(image).reshape(k, -1, w)[:, :h].astype(bool)


def _per_slice(mask: np.ndarray, gap: int, *filters: object) -> np.ndarray:
    """Apply 2D SimpleITK ``filters`` (callables image → image) to every slice of ``mask``."""
    image = sitk.GetImageFromArray(_mosaic(mask, gap))
    for apply in filters:
        image = apply(image)  # type: ignore[operator]
    return _unmosaic(image, mask.shape)


def _large_components(mask: np.ndarray, fraction: float) -> np.ndarray:
    """The 3D components of ``mask`` at least ``fraction`` the size of the largest."""
    labels = sitk.RelabelComponent(sitk.ConnectedComponent(sitk.GetImageFromArray(mask.astype(np.uint8))),
                                   sortByObjectSize=True)
    sizes = np.bincount(sitk.GetArrayViewFromImage(labels).ravel())
    if len(sizes) < 2:
        return mask
    keep = np.nonzero(sizes[1:] >= fraction * sizes[1])[0] + 1
    return np.isin(sitk.GetArrayViewFromImage(labels), keep)


def _largest_component(mask: np.ndarray) -> np.ndarray:
    labels = sitk.RelabelComponent(sitk.ConnectedComponent(sitk.GetImageFromArray(mask.astype(np.uint8))),
                                   sortByObjectSize=True)
    return sitk.GetArrayViewFromImage(labels) == 1


def _body(small: np.ndarray, pixel_mm: float) -> tuple[np.ndarray, np.ndarray]:
    """(body, inside) on a reduced grid. Body: opened tissue, largest 3D component, grown back,
    filled, and one pixel more (so that its edge lies in the air beside the skin); inside: one
    pixel less (clear of the air beside the skin)."""
    tissue = small > TISSUE_HU
    r = max(1, round(OPEN_MM / pixel_mm))
    gap = r + 2
    core = _largest_component(_per_slice(tissue, gap, lambda m: sitk.BinaryMorphologicalOpening(m, [r, r])))
    grown = _per_slice(core, gap, lambda m: sitk.BinaryDilate(m, [r, r])) & tissue
    filled = _per_slice(grown, gap, sitk.BinaryFillhole)
    return (_per_slice(filled, gap, lambda m: sitk.BinaryDilate(m, [1, 1])),
            _per_slice(filled, gap, lambda m: sitk.BinaryErode(m, [1, 1])))


def _lungs(small: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """Air inside the body, filled (vessels and nodules within the lungs kept), one pixel in from
    the chest wall (whose partial-volume edge would render as a striped rind), without the small
    pockets (bowel and stomach gas)."""
    air = _per_slice((small < LUNG_AIR_HU) & inside, 2, sitk.BinaryFillhole,
                     lambda m: sitk.BinaryErode(m, [1, 1]))
    return _large_components(air, MIN_POCKET_FRACTION)


def _steps(pixel_mm: float) -> tuple[int, int]:
    """In-plane sub-sampling (lung, body); the body's is a multiple of the lungs'."""
    lung = max(1, round(LUNG_PIXEL_MM / pixel_mm))
    return lung, lung * max(1, round(BODY_PIXEL_MM / (pixel_mm * lung)))


def _upsampled(mask: np.ndarray, step: int, shape: tuple[int, int, int]) -> np.ndarray:
    return np.repeat(np.repeat(mask, step, axis=1), step, axis=2)[:, :shape[1], :shape[2]]


@dataclass(frozen=True)
class BodyRegions:
    """Full-resolution body and lung masks of one CT volume ([k, j, i] booleans)."""

    body: np.ndarray
    lungs: np.ndarray
    voxel_ml: float = 0.0

    @property
    def has_lungs(self) -> bool:
        return float(self.lungs.sum()) * self.voxel_ml >= MIN_LUNGS_ML

    @classmethod
    def of(cls, volume: Volume) -> BodyRegions:
        lung_step, body_step = _steps(volume.spacing[1])
        body, inside = _body(volume.voxels[:, ::body_step, ::body_step], body_step * volume.spacing[1])
        lung_grid = volume.voxels[:, ::lung_step, ::lung_step]
        lungs = _lungs(lung_grid, _upsampled(inside, body_step // lung_step, lung_grid.shape))
        return cls(_upsampled(body, body_step, volume.shape), _upsampled(lungs, lung_step, volume.shape),
                   float(np.prod(volume.spacing)) / 1000.0)

    def body_only(self, voxels: np.ndarray) -> np.ndarray:
        return np.where(self.body, voxels, np.asarray(AIR_HU, voxels.dtype))

    def lungs_only(self, voxels: np.ndarray) -> np.ndarray:
        """The lungs alone; the body when there are no lungs."""
        mask = self.lungs if self.has_lungs else self.body
        return np.where(mask, voxels, np.asarray(AIR_HU, voxels.dtype))

    def bounds_mm(self, volume: Volume, region: str = "body") -> tuple[float, ...]:
        """LPS box around the tissue of the body, or around the bulk of the lungs (the ends that
        hold `LUNG_BOUNDS_TRIM` of their voxels each — the trachea, the tips — left out); the
        whole volume's box when the region is empty."""
        lungs = region == "lungs" and self.has_lungs
        mask = self.lungs if lungs else self.body & (volume.voxels > TISSUE_HU)  # (body: edge in air)
        profiles = [mask.sum(axis=tuple(a for a in range(3) if a != axis)) for axis in range(3)]
        if not profiles[0].any():
            return volume_bounds_mm(volume)
        return _box_bounds(volume, [_mass_range(p, LUNG_BOUNDS_TRIM if lungs else 0.0) for p in profiles])


def _mass_range(profile: np.ndarray, trim: float) -> tuple[int, int]:
    """First and last index of ``profile`` once ``trim`` of its mass is cut from each end."""
    if not trim:
        present = np.nonzero(profile)[0]
        return int(present[0]), int(present[-1])
    cumulative = np.cumsum(profile) / profile.sum()
    first = int(np.searchsorted(cumulative, trim, side="right"))
    return first, max(first, int(np.searchsorted(cumulative, 1 - trim, side="left")))


def _box_bounds(volume: Volume, ranges_kji: list[tuple[int, int]]) -> tuple[float, ...]:
    corners = np.array([[k, j, i] for k in ranges_kji[0] for j in ranges_kji[1] for i in ranges_kji[2]],
                       dtype=float)
    lps = volume.index_to_patient(corners)
    lo, hi = lps.min(axis=0), lps.max(axis=0)
    return (float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1]), float(lo[2]), float(hi[2]))


def volume_bounds_mm(volume: Volume) -> tuple[float, ...]:
    """LPS box around the whole volume (voxel centres)."""
    return _box_bounds(volume, [(0, n - 1) for n in volume.shape])


_LAST: list[tuple[weakref.ref, BodyRegions]] = []  # the regions of the last volume asked for


def regions_of(volume: Volume) -> BodyRegions | None:
    """The regions of a CT volume (computed once per voxel array), None for other modalities."""
    if volume.modality != "CT" or volume.is_2d:
        return None
    if _LAST and _LAST[0][0]() is volume.voxels:
        return _LAST[0][1]
    regions = BodyRegions.of(volume)
    _LAST[:] = [(weakref.ref(volume.voxels, lambda _: _LAST.clear()), regions)]  # freed with the volume
    return regions


def regions_ready(volume: Volume) -> bool:
    """True when rendering ``volume`` needs no mask computation: not a CT (or a 2D image), or its
    regions are already computed (the last volume `regions_of` was asked for)."""
    if volume.modality != "CT" or volume.is_2d:
        return True
    return bool(_LAST) and _LAST[0][0]() is volume.voxels


def region_voxels(volume: Volume, region: str) -> np.ndarray:
    """The voxels to render for ``region`` ("all", "body" or "lungs"); non-CT: always all."""
    if region not in REGIONS:
        raise ValueError(f"unknown region {region!r} (one of {REGIONS})")
    regions = None if region == "all" else regions_of(volume)
    if regions is None:
        return volume.voxels
    return regions.body_only(volume.voxels) if region == "body" else regions.lungs_only(volume.voxels)
