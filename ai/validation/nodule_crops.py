"""Nodule model on LIDC crops: score candidate patches at the nodule and at structures away from it.

A crop is too small for the whole-scan pipeline (lung mask, blob candidates), so the candidates are
fixed here, deterministically, and scored with the nodule pipeline's own patch extraction and CNN
(``ai.pipelines.nodule``: ``patch_at``, ``window``, ``score``):

- the lesion: the centroid of the nodule mask (the crop's centre where no mask is present);
- up to :data:`NEGATIVES_PER_CROP` structure points (HU > :data:`STRUCTURE_HU`) at least radius +
  :data:`GAP_MM` from the lesion centre, picked by farthest-point sampling (no randomness).

Hit criterion: candidate centre within the lesion's radius (annotated diameter / 2) of its centre. So
``lesion_sensitivity`` is the share of nodules whose centred patch scores at or above the threshold, and
``fp_per_scan`` the structure patches per crop that do - a proxy, not a whole-scan false-positive rate.
"""

from __future__ import annotations

import importlib
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


def _physical(img: Any, index_kji: np.ndarray) -> np.ndarray:
    """(N, 3) voxel indices [k, j, i] → (N, 3) physical points (x, y, z) of a SimpleITK image."""
    direction = np.asarray(img.GetDirection(), float).reshape(3, 3)
    scaled = np.asarray(index_kji, float)[:, ::-1] * np.asarray(img.GetSpacing(), float)
    return scaled @ direction.T + np.asarray(img.GetOrigin(), float)


def lesion_centre(img: Any, mask: np.ndarray | None) -> np.ndarray:
    """Physical centre of the nodule: its mask's centroid, else the crop's centre."""
    if mask is not None and mask.any():
        centre = np.argwhere(mask).mean(axis=0)
    else:
        centre = (np.asarray(img.GetSize()[::-1], float) - 1) / 2
    return _physical(img, centre[None])[0]


def structure_points(img: Any, hu: np.ndarray, centre: np.ndarray, radius_mm: float,
                     n: int = NEGATIVES_PER_CROP) -> np.ndarray:
    """Up to ``n`` structure points far from the lesion, by farthest-point sampling (physical, (m, 3))."""
    index = np.argwhere(hu > STRUCTURE_HU)
    if index.size == 0:
        return np.zeros((0, 3))
    points = _physical(img, index)
    dist = np.linalg.norm(points - centre, axis=1)
    points, dist = points[dist >= radius_mm + GAP_MM], dist[dist >= radius_mm + GAP_MM]
    chosen: list[np.ndarray] = []
    for _ in range(min(n, len(points))):
        k = int(np.argmax(dist))
        chosen.append(points[k])
        dist = np.minimum(dist, np.linalg.norm(points - points[k], axis=1))
    return np.asarray(chosen).reshape(-1, 3)


def _radius(record: Record, mask: np.ndarray | None, spacing: tuple[float, ...]) -> float:
    diameter = float(record.extra.get("diameter_mm", "nan") or "nan")
    if math.isfinite(diameter) and diameter > 0:
        return diameter / 2
    volume = float(mask.sum()) * float(np.prod(spacing)) if mask is not None else 0.0
    return (3 * volume / (4 * math.pi)) ** (1 / 3) if volume else 5.0


def nodule_crop_predictor(package: ModelPackage, layout: Layout) -> Callable[[Record], CaseResult]:
    """Cases with a FROC outcome per crop (see the module notes)."""
    import SimpleITK as sitk

    from ai.runtime import get_session
    from ai.validation.predict import PipelineMissing, base_fields

    try:
        pipe = importlib.import_module("ai.pipelines.nodule")
    except ModuleNotFoundError as exc:
        raise PipelineMissing("no nodule pipeline (ai/pipelines/nodule.py) to score crop candidates") from exc
    if not all(callable(getattr(pipe, name, None)) for name in ("patch_at", "window", "score")):
        raise PipelineMissing("ai/pipelines/nodule.py lacks patch_at/window/score to score crop candidates")
    session = get_session(package.onnx_path).session

    def predict(record: Record) -> CaseResult:
        img = sitk.ReadImage(str(record.path))
        hu = sitk.GetArrayFromImage(img)
        mask = None
        if record.mask_path is not None and record.mask_path.is_file():
            mask = sitk.GetArrayFromImage(sitk.ReadImage(str(record.mask_path))) > 0
        centre = lesion_centre(img, mask)
        radius = _radius(record, mask, img.GetSpacing())
        points = np.vstack([centre[None], structure_points(img, hu, centre, radius)])
        patches = np.stack([pipe.window(pipe.patch_at(img, p)) for p in points]).astype(np.float32)
        scores, _ = pipe.score(session, patches)
        outcome = scan_outcome(scores, centre_hits(points, centre[None], [radius]))
        return CaseResult(**base_fields(record, layout), outcome=outcome)

    return predict
