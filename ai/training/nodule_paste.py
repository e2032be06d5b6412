"""Nodule insertion: the training crops' nodules pasted into the lungs of the training scans.

The LIDC crops are tight, so the CNN sees their ~600 nodules only against fill, and whole-scan context
only around negatives and the 1–4 real nodules of the training scans. Pasting each crop's nodule into a
real training scan gives positives in whole-scan context — on parenchyma and against the vessels, fissures
and pleura that the false marks come from — cut exactly like a candidate at inference
(:func:`ai.training.nodule_data.cut`: the crop-shaped box of :func:`~ai.pipelines.nodule_patches.crop_like`).

- **Sites** (:func:`sites_of`): half at the scan's own negative candidates (structures), the nodule centre
  moved off the structure by its radius + 0–3 mm so that it touches it (juxtavascular, juxtapleural),
  half on lung parenchyma (< −700 HU inside the pipeline's lung mask); none within
  :data:`CLEAR_MM` + radius of an annotated nodule or marked point.
- **Blend** (:func:`paste`): the crop's nodule mask, dilated by 1 voxel and smoothed (σ 0.7 mm),
  weights the move from the scan towards the nodule's HU where the nodule is denser — a vessel denser
  than the nodule's edge stays. Sites where the nodule would sit mostly in soft tissue are redrawn.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import SimpleITK as sitk

from ai.pipelines import nodule_candidates, nodule_patches
from ai.training.nodule_data import Crop, extract
from ai.training.nodule_scans import CACHE, CUBE, find_scan, read_scan
from ai.training.nodule_scans import load as load_scan

CLEAR_MM = 15.0
PARENCHYMA_HU = -700.0
MAX_SITES = 4000
MAX_BED_HU = -600.0


@dataclass
class PasteScan:
    """A training scan on the patch grid (int16 HU, [k, j, i]) and where nodules may be pasted into it."""

    name: str
    volume: np.ndarray
    structure_sites: np.ndarray  # (N, 3) kji voxel centres of negative candidates
    parenchyma_sites: np.ndarray  # (M, 3) kji voxel centres of lung parenchyma


def _clear(points_mm: np.ndarray, avoid_mm: np.ndarray, radii_mm: np.ndarray) -> np.ndarray:
    if not len(avoid_mm) or not len(points_mm):
        return np.ones(len(points_mm), bool)
    dist = np.linalg.norm(points_mm[:, None] - avoid_mm[None], axis=2)
    return (dist > radii_mm[None] + CLEAR_MM).all(axis=1)


def sites_of(img: sitk.Image, iso: sitk.Image, negatives_mm: np.ndarray, avoid_mm: np.ndarray,
             avoid_radii: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Structure and parenchyma sites (iso-grid kji), away from annotations."""
    coarse = nodule_candidates.resample(img, nodule_candidates.COARSE_MM)
    lungs = sitk.GetArrayFromImage(nodule_candidates.lung_mask(coarse)) > 0
    soft = lungs & (sitk.GetArrayFromImage(coarse) < PARENCHYMA_HU)
    kji = np.argwhere(soft)
    kji = kji[rng.choice(len(kji), size=min(len(kji), 3 * MAX_SITES), replace=False)]
    par_mm = np.array([coarse.TransformIndexToPhysicalPoint([int(v) for v in p[::-1]]) for p in kji])
    structure_mm = negatives_mm[_clear(negatives_mm, avoid_mm, avoid_radii)][:MAX_SITES]
    par_mm = par_mm[_clear(par_mm, avoid_mm, avoid_radii)][:MAX_SITES]

    def to_iso(points: np.ndarray) -> np.ndarray:
        return np.array([nodule_patches.index_of(iso, p) for p in points]).reshape(-1, 3)

    return to_iso(structure_mm), to_iso(par_mm)


def load(name: str) -> PasteScan:
    """A training scan's paste data, built and cached (``build/nodule-cache``) on first use."""
    path = CACHE / f"{name}_paste_{nodule_patches.SPACING_MM:g}mm_slice{nodule_patches.SLICE_MM:g}.npz"
    if path.is_file():
        with np.load(path) as data:
            return PasteScan(name, data["volume"], data["structure_sites"], data["parenchyma_sites"])
    img, truth = read_scan(find_scan(name))
    volume, iso = nodule_patches.iso_volume(img)
    cands = load_scan(name)
    avoid = np.vstack([np.asarray([n.centre_mm for n in truth.nodules]).reshape(-1, 3), truth.ignore_mm])
    radii = np.r_[[n.radius_mm for n in truth.nodules], np.zeros(len(truth.ignore_mm))]
    structure, parenchyma = sites_of(img, iso, cands.centres_mm[cands.labels == 0], avoid, radii,
                                     np.random.default_rng(0))
    out = PasteScan(name, np.clip(volume, -1024, 3071).astype(np.int16), structure, parenchyma)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.savez(path, volume=out.volume, structure_sites=structure, parenchyma_sites=parenchyma)
    return out


def nodule_weight(crop: Crop, size: int) -> np.ndarray:
    """The crop's nodule mask centred in a size³ cube, dilated by 1 voxel and smoothed: weights in [0, 1]."""
    mask = extract(crop.mask.astype(np.float32), crop.centre, size, fill=0.0) > 0
    img = sitk.BinaryDilate(sitk.GetImageFromArray(mask.astype(np.uint8)), [1] * 3)
    img = sitk.SmoothingRecursiveGaussian(sitk.Cast(img, sitk.sitkFloat32), 0.7)
    weight = np.clip(sitk.GetArrayFromImage(img), 0.0, 1.0)
    return np.where(weight < 1e-3, np.float32(0.0), weight)  # the recursive Gaussian's far tail


def paste(background: np.ndarray, crop: Crop, weight: np.ndarray) -> np.ndarray:
    """``background`` (CUBE³ HU) with ``crop``'s nodule blended in at its centre."""
    nodule = extract(crop.hu.astype(np.float32), crop.centre, background.shape[0], fill=-1000.0)
    return background + weight * np.maximum(nodule - background, 0.0)


def site_for(scan: PasteScan, radius_mm: float, rng: np.random.Generator) -> np.ndarray:
    """A kji centre for a nodule of this radius: touching a structure, or in parenchyma (half each)."""
    if rng.random() < 0.5 and len(scan.structure_sites):
        direction = rng.normal(size=3)
        direction /= np.linalg.norm(direction)
        offset = (radius_mm + rng.uniform(0, 3)) / nodule_patches.SPACING_MM * direction
        return scan.structure_sites[rng.integers(len(scan.structure_sites))] + offset
    return scan.parenchyma_sites[rng.integers(len(scan.parenchyma_sites))]


def pasted_cube(scan: PasteScan, crop: Crop, rng: np.random.Generator, tries: int = 10) -> np.ndarray:
    """A CUBE³ HU cube of ``scan`` around a site with ``crop``'s nodule pasted at the centre. A site where
    the nodule would lie mostly in soft tissue (mean HU under its mask ≥ :data:`MAX_BED_HU`: chest wall,
    mediastinum, liver — it would not be visible) is drawn again; the last try is on parenchyma."""
    weight = nodule_weight(crop, CUBE)
    core = weight > 0.5
    for attempt in range(tries):
        at = site_for(scan, crop.radius, rng) if attempt < tries - 1 else \
            scan.parenchyma_sites[rng.integers(len(scan.parenchyma_sites))]
        background = nodule_patches.cube(scan.volume, at, CUBE).astype(np.float32)
        if not core.any() or background[core].mean() < MAX_BED_HU:
            break
    return paste(background, crop, weight)
