"""Nodule model on LIDC crops: score the patch at the nodule and patches at structures away from it.

A crop is too small for the whole-scan pipeline (lung mask, blob candidates), so candidates are fixed
here, deterministically, and scored with the nodule pipeline's own patch cut and CNN
(``ai.pipelines.nodule``: ``crop_like``, ``window``, ``score``, with the patch contract read from
``model.json`` by ``PatchSpec.of``), the way the model card measures it:

- the crop is brought to the pipeline's patch grid (``nodule_patches.crop_on_grid``: slice thickness,
  then ``input.spacing_mm``; linear, mask nearest);
- the lesion: the patch centred (to the nearest voxel) on the mask centroid, cut by ``crop_like`` for
  the mask's equivalent-sphere diameter (the crop's centre when the mask is empty);
- up to :data:`NEGATIVES_PER_CROP` structure points (HU > :data:`STRUCTURE_HU`) between radius +
  :data:`GAP_MM` and radius + :data:`GAP_MM` + :data:`RING_MM` from the lesion centre (vessels, walls next
  to the nodule; any farther structure when the ring holds too few), spread by farthest-point sampling
  (no randomness), cut for a :data:`NEGATIVE_DIAMETER_MM` candidate.

Hit criterion: candidate centre within the lesion's radius of its centre. ``lesion_sensitivity`` is the
share of nodules whose centred patch scores at or above the threshold; ``fp_per_scan`` counts the
structure patches per crop that do — a proxy, not a whole-scan false-positive rate.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ai.datasets import Record
from ai.package import ModelPackage
from ai.validation.cases import CaseResult
from ai.validation.layouts import Layout
from ai.validation.metrics import centre_hits, scan_outcome

NEGATIVES_PER_CROP = 4
STRUCTURE_HU = -500.0
GAP_MM = 4.0
NEGATIVE_DIAMETER_MM = 5.0
RING_MM = 8.0


def extract(hu: np.ndarray, centre: np.ndarray, size: int, fill: float) -> np.ndarray:
    """(size,)*3 float32 patch centred (nearest voxel) at ``centre`` [k, j, i], ``fill`` outside ``hu``."""
    out = np.full((size,) * 3, fill, np.float32)
    start = np.round(centre).astype(int) - size // 2
    lo, hi = np.maximum(start, 0), np.minimum(start + size, hu.shape)
    if np.any(hi <= lo):
        return out
    dst = tuple(slice(a - s, b - s) for a, b, s in zip(lo, hi, start, strict=True))
    out[dst] = hu[tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))]
    return out


def lesion_centre(mask: np.ndarray) -> tuple[np.ndarray, float]:
    """Centroid [k, j, i] of the mask and its equivalent-sphere radius in voxels (crop centre, 0 if empty)."""
    if not mask.any():
        return (np.asarray(mask.shape, float) - 1) / 2, 0.0
    return np.argwhere(mask).mean(axis=0), float((3 * mask.sum() / (4 * math.pi)) ** (1 / 3))


def structure_points(hu: np.ndarray, centre: np.ndarray, min_distance: float,
                     n: int = NEGATIVES_PER_CROP) -> np.ndarray:
    """Up to ``n`` voxels above :data:`STRUCTURE_HU` at least ``min_distance`` voxels from ``centre``:
    those within :data:`RING_MM` beyond that distance (structures next to the nodule, the hard cases) when
    there are ``n`` of them, else any; spread by farthest-point sampling from the lesion. (m, 3) [k, j, i]."""
    points = np.argwhere(hu > STRUCTURE_HU).astype(float)
    dist = np.linalg.norm(points - centre, axis=1) if points.size else np.zeros(0)
    far = dist >= min_distance
    ring = far & (dist <= min_distance + RING_MM)
    keep = ring if ring.sum() >= n else far
    points, dist = points[keep], dist[keep]
    chosen: list[np.ndarray] = []
    for _ in range(min(n, len(points))):
        k = int(np.argmax(dist))
        chosen.append(points[k])
        dist = np.minimum(dist, np.linalg.norm(points - points[k], axis=1))
    return np.asarray(chosen).reshape(-1, 3)


def crop_scores(spec: Any, session: Any, record: Record) -> tuple[np.ndarray, np.ndarray, float]:
    """Candidate centres (voxels of the patch grid, lesion first), their scores, and the lesion radius."""
    from ai.pipelines import nodule as pipe
    from ai.pipelines.nodule_patches import crop_on_grid

    hu, mask = crop_on_grid(record.path, record.mask_path, spec)
    centre, radius = lesion_centre(mask)
    if radius == 0:
        radius = float(record.extra.get("diameter_mm", "10") or 10) / 2 / spec.spacing_mm
    points = np.vstack([centre[None], structure_points(hu, centre, radius + GAP_MM / spec.spacing_mm)])
    diameters = [2 * radius * spec.spacing_mm] + [NEGATIVE_DIAMETER_MM] * (len(points) - 1)
    patches = np.stack([pipe.window(pipe.crop_like(extract(hu, p, spec.patch, spec.fill_hu), d, spec), spec)
                        for p, d in zip(points, diameters, strict=True)]).astype(np.float32)
    return points, np.asarray(pipe.score(session, patches)[0], float), radius


def nodule_crop_predictor(package: ModelPackage, layout: Layout) -> Callable[[Record], CaseResult]:
    """Cases with a FROC outcome per crop (see the module notes)."""
    from ai.pipelines.nodule import PatchSpec
    from ai.runtime import get_session
    from ai.validation.predict import base_fields

    spec = PatchSpec.of(package)  # the patch contract of model.json, as the whole-scan pipeline reads it
    session = get_session(package.onnx_path).session

    def predict(record: Record) -> CaseResult:
        points, scores, radius = crop_scores(spec, session, record)
        outcome = scan_outcome(scores, centre_hits(points, points[:1], [radius]))
        return CaseResult(**base_fields(record, layout), outcome=outcome)

    return predict
