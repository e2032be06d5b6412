"""Whole-scan training and evaluation data for the nodule classifier (LIDC-0001/0003; 0314 for tests only).

For each scan: the candidate stage of the pipeline (:mod:`ai.pipelines.nodule_candidates`) runs, every
candidate's patch is cut exactly as at inference (:func:`ai.pipelines.nodule_patches.candidate_patches`)
and labelled against the readers' nodules (:mod:`ai.datasets.lidc_xml`, any reader count, ≥ 3 mm):

- ``1`` (hit): the candidate centre lies within the nodule's radius (LUNA16's hit rule);
- ``-1`` (ignored): within radius + :data:`MARGIN_MM` of a nodule but not a hit, or within
  :data:`MARGIN_MM` of a < 3 mm nodule or non-nodule point — neither positive nor negative;
- ``0``: every other candidate — the whole scan's negatives (vessels, bronchi, fissures, pleura …).

Each nodule also gets a :data:`CUBE`³ HU cube (not cut) so that training can jitter its positives.
Cached as ``build/nodule-cache/<scan>_<spacing>mm.npz`` (git-ignored).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from ai.datasets.lidc_scans import LidcScan, ScanTruth, find_lidc_scans, truth_for
from ai.datasets.lidc_xml import SliceGeometry
from ai.pipelines import nodule_candidates, nodule_patches
from ai.training.common import DATA, REPO

CACHE = REPO / "build" / "nodule-cache"
MARGIN_MM = 5.0
CUBE = 44
log = logging.getLogger("radsight.train")


@dataclass
class ScanData:
    name: str
    patches: np.ndarray  # (N, 1, P, P, P) float32, windowed, crop-cut (as at inference)
    labels: np.ndarray  # (N,) int: 1 hit, 0 negative, -1 ignored
    centres_mm: np.ndarray  # (N, 3)
    diameters_mm: np.ndarray  # (N,)
    nodule_cubes: np.ndarray  # (M, C, C, C) float32 HU around each nodule
    nodule_diameters: np.ndarray  # (M,) equivalent diameter used for the crop cut
    nodule_readers: np.ndarray  # (M,)
    nodule_centres_mm: np.ndarray  # (M, 3)
    nodule_radii_mm: np.ndarray  # (M,)
    seconds: float = 0.0


def read_series(series: Path) -> sitk.Image:
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(series)))
    return sitk.Cast(reader.Execute(), sitk.sitkFloat32)


def geometry_of(img: sitk.Image) -> SliceGeometry:
    return SliceGeometry(tuple(img.GetOrigin()[:2]), tuple(img.GetSpacing()[:2]))


def find_scan(name: str, root: Path = DATA / "dicom") -> LidcScan:
    return next(s for s in find_lidc_scans(root) if s.name == name)


def read_scan(scan: LidcScan) -> tuple[sitk.Image, ScanTruth]:
    """The series brought to the model's slice thickness (``nodule_patches.harmonise_thickness``) and the
    readers' annotations (their geometry from the series as stored)."""
    original = read_series(scan.series)
    return nodule_patches.harmonise_thickness(original), truth_for(scan, geometry_of(original))


def label_candidates(centres: np.ndarray, truth: ScanTruth) -> np.ndarray:
    labels = np.zeros(len(centres), int)
    for nodule in truth.nodules:
        dist = np.linalg.norm(centres - np.asarray(nodule.centre_mm), axis=1)
        labels[(dist <= nodule.radius_mm + MARGIN_MM) & (labels != 1)] = -1
        labels[dist <= nodule.radius_mm] = 1
    for point in truth.ignore_mm:
        near = np.linalg.norm(centres - point, axis=1) <= MARGIN_MM
        labels[near & (labels == 0)] = -1
    return labels


def build(scan: LidcScan) -> ScanData:
    import time

    start = time.perf_counter()
    img, truth = read_scan(scan)
    cands, _ = nodule_candidates.find(img)
    volume, iso = nodule_patches.iso_volume(img)
    centres = np.array([c.centre_mm for c in cands]).reshape(-1, 3)
    diameters = np.array([c.diameter_mm for c in cands])
    patches = nodule_patches.candidate_patches(volume, iso, list(centres), list(diameters))
    labels = label_candidates(centres, truth)
    cubes, cut_d = [], []
    for nodule in truth.nodules:
        at = nodule_patches.index_of(iso, np.asarray(nodule.centre_mm))
        cubes.append(nodule_patches.cube(volume, at, CUBE))
        dist = np.linalg.norm(centres - np.asarray(nodule.centre_mm), axis=1)
        hit = dist <= nodule.radius_mm
        cut_d.append(float(diameters[hit][np.argmin(dist[hit])]) if hit.any() else 0.75 * nodule.diameter_mm)
    return ScanData(scan.name, patches, labels, centres, diameters,
                    np.asarray(cubes, np.float32).reshape(-1, CUBE, CUBE, CUBE), np.asarray(cut_d),
                    np.array([n.readers for n in truth.nodules]),
                    np.array([n.centre_mm for n in truth.nodules]).reshape(-1, 3),
                    np.array([n.radius_mm for n in truth.nodules]), time.perf_counter() - start)


def load(name: str, root: Path = DATA / "dicom") -> ScanData:
    """A scan's data from the cache, built (and cached) on first use."""
    path = CACHE / f"{name}_{nodule_patches.SPACING_MM:g}mm_slice{nodule_patches.SLICE_MM:g}.npz"
    if path.is_file():
        with np.load(path) as data:
            return ScanData(name=name, **{k: data[k] for k in data.files if k != "name"})
    data = build(find_scan(name, root))
    CACHE.mkdir(parents=True, exist_ok=True)
    fields = {k: v for k, v in vars(data).items() if k != "name"}
    np.savez(path, **fields)
    log.info("%s: %d candidates (%d hits, %d ignored), %d nodules, %.1f s", name, len(data.labels),
             (data.labels == 1).sum(), (data.labels == -1).sum(), len(data.nodule_readers), data.seconds)
    return data


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    for scan_name in ("lidc-idri-0001", "lidc-idri-0003", "lidc-idri-0314"):
        load(scan_name)
