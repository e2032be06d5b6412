"""Chest-CT nodule pipeline: candidates on the whole scan → 3D CNN score per candidate → marks with a
mask, volume, axes and their own explanation map.

1. Candidates (:mod:`ai.pipelines.nodule_candidates`): a closed lung mask (keeps juxtapleural nodules)
   and dense blobs at several scales (3 mm … 70 mm). Every candidate is scored: no cap.
2. Each candidate's 32³ patch at 1 mm (:mod:`ai.pipelines.nodule_patches`, the same code training used)
   goes through the ONNX model: ``image`` (N, 1, 32, 32, 32) → ``logits`` (N, 2) (calibrated: the
   temperature chosen on validation is inside the graph) and ``cam`` (N, 2, 8, 8, 8).
3. A candidate is **marked** when its probability ≥ the operating threshold of ``model.json``
   (chosen on validation for ≤ 4 false marks per scan). The highest-scoring unmarked candidates are
   listed too (:data:`LISTED_BELOW`, flagged as not marked) so that a reader can see what came next.
4. Every listed finding gets a mask, volume and long/short axes (:mod:`ai.pipelines.nodule_measure`);
   the :data:`OWN_MAPS` highest marks get their own explanation map: their candidate's CAM (4 mm cells,
   the patch's own resolution), centred on it, on the CT grid (zero elsewhere).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import SimpleITK as sitk

from ai.findings import Finding, located
from ai.pipelines import ModelOutputs, PipelineResult, Prepared
from ai.pipelines import nodule_candidates as candidates_stage
from ai.pipelines.nodule_measure import measure
from ai.pipelines.nodule_patches import (
    FILL_HU,
    PATCH,
    SPACING_MM,
    candidate_patches,
    crop_like,
    iso_volume,
    window,
)
from ai.scores import softmax

__all__ = ["FILL_HU", "PATCH", "PIPELINE", "SPACING_MM", "crop_like", "score", "window"]

LISTED_BELOW = 10
OWN_MAPS = 4
DEFAULT_THRESHOLD = 0.5


def to_sitk(volume: np.ndarray, spacing, origin=None, direction=None) -> sitk.Image:
    """Array [k, j, i] + spacing (dk, dj, di) (+ LPS origin, direction columns) → SimpleITK image (HU)."""
    img = sitk.GetImageFromArray(np.asarray(volume, np.float32))
    img.SetSpacing(tuple(float(s) for s in reversed(spacing)))
    if origin is not None:
        img.SetOrigin(tuple(float(v) for v in origin))
    if direction is not None:
        img.SetDirection(tuple(float(v) for v in np.asarray(direction, float).reshape(9)))
    return img


def score(session, patches: np.ndarray, batch: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Nodule probability and nodule-class CAM (N, 8, 8, 8) for windowed patches (N, P, P, P)."""
    probs, cams = [], []
    for i in range(0, len(patches), batch):
        logits, cam = session.run(["logits", "cam"], {"image": patches[i : i + batch, None]})
        probs.append(softmax(logits)[:, 1])
        cams.append(cam[:, 1])
    if not probs:
        return np.zeros(0), np.zeros((0, 8, 8, 8))
    return np.concatenate(probs), np.concatenate(cams)


@dataclass(frozen=True)
class Scored:
    centre_kji: np.ndarray
    centre_mm: np.ndarray
    diameter_mm: float
    probability: float
    cam: np.ndarray  # (8, 8, 8)


def own_map(shape: tuple[int, int, int], spacing, centre_kji: np.ndarray, cam: np.ndarray) -> np.ndarray:
    """The candidate's CAM (ReLU, scaled to [0, 1]) on the CT grid: its 32 mm patch, nearest cell."""
    heat = np.zeros(shape, np.float32)
    cells = cam.shape[-1]
    cell_mm = PATCH * SPACING_MM / cells
    cam = np.maximum(cam, 0)
    cam = cam / max(float(cam.max()), 1e-6)
    index, source = [], []
    for axis in range(3):
        half = PATCH * SPACING_MM / 2 / spacing[axis]
        idx = np.arange(max(0, int(np.floor(centre_kji[axis] - half))),
                        min(shape[axis], int(np.ceil(centre_kji[axis] + half)) + 1))
        cell = np.floor((idx - centre_kji[axis]) * spacing[axis] / cell_mm + cells / 2).astype(int)
        inside = (cell >= 0) & (cell < cells)
        index.append(idx[inside])
        source.append(cell[inside])
    heat[np.ix_(*index)] = cam[np.ix_(*source)]
    return heat


class NodulePipeline:
    """The engine's ``Pipeline`` protocol: ``prepare`` finds and cuts candidates, ``interpret`` marks,
    measures and explains them."""

    def prepare(self, image, package) -> Prepared:
        img = to_sitk(image.voxels, image.spacing, image.index_to_patient((0, 0, 0)), image.direction)
        cands, _ = candidates_stage.find(img)
        volume, iso = iso_volume(img)
        patches = candidate_patches(volume, iso, [c.centre_mm for c in cands], [c.diameter_mm for c in cands])
        inputs = patches if len(cands) else np.zeros((1, 1) + (PATCH,) * 3, np.float32)
        return Prepared(inputs, {"img": img, "candidates": cands})

    def interpret(self, image, package, prepared: Prepared, outputs: ModelOutputs) -> PipelineResult:
        cands = prepared.context["candidates"]
        if not cands:
            return PipelineResult([], notes=["no nodule candidates inside the lung mask"])
        point = package.operating_point("nodule")
        threshold = DEFAULT_THRESHOLD if point is None else float(point.threshold)
        probs = softmax(outputs.outputs["logits"])[:, 1]
        img = prepared.context["img"]
        cams = outputs.outputs["cam"][:, 1]
        scored = [_scored(img, c, float(p), cam) for c, p, cam in zip(cands, probs, cams, strict=True)]
        scored.sort(key=lambda s: -s.probability)
        marked = [s for s in scored if s.probability >= threshold]
        listed = marked + scored[len(marked) : len(marked) + LISTED_BELOW]
        findings, maps = [], {}
        for rank, s in enumerate(listed):
            name = f"nodule-{rank + 1}" if rank < min(OWN_MAPS, len(marked)) else None
            if name:
                maps[name] = own_map(image.shape, image.spacing, s.centre_kji, s.cam)
            findings.append(_finding(package, image, s, threshold, name))
        notes = [f"{len(cands)} candidates scored; {len(marked)} marked at score ≥ {threshold:.3f} (no cap); "
                 f"the {len(listed) - len(marked)} highest below it are listed, not marked",
                 f"own explanation maps for the {min(OWN_MAPS, len(marked))} highest marks"]
        return PipelineResult(findings, maps=maps, notes=notes)


def _scored(img: sitk.Image, cand, probability: float, cam: np.ndarray) -> Scored:
    ijk = img.TransformPhysicalPointToContinuousIndex(tuple(float(v) for v in cand.centre_mm))
    return Scored(np.array(ijk[::-1]), np.asarray(cand.centre_mm, float), float(cand.diameter_mm),
                  probability, cam)


def _finding(package, image, s: Scored, threshold: float, explanation: str | None) -> Finding:
    m = measure(image.voxels, image.spacing, s.centre_kji, s.diameter_mm)
    half = s.diameter_mm / 2 / np.asarray(image.spacing, float)
    box = m.box_kji if m.mask.any() else (*(s.centre_kji - half + 0.5), *(s.centre_kji + half + 0.5))
    finding = Finding(package.name, package.version, "nodule", s.probability, s.probability >= threshold,
                      threshold=threshold, explanation=explanation,
                      explanation_method="cam_output" if explanation else "",
                      mask=m.mask if m.mask.any() else None,
                      measurements=_sizes(m, s))
    finding = located(finding, image, box)
    mm = image.index_to_patient(s.centre_kji)
    return replace(finding, center_kji=tuple(float(v) for v in s.centre_kji),
                   center_mm=None if mm is None else tuple(float(v) for v in mm))


def _sizes(m, s: Scored) -> dict[str, float]:
    return {"volume_mm3": round(m.volume_mm3, 1), "long_axis_mm": round(m.long_axis_mm, 1),
            "short_axis_mm": round(m.short_axis_mm, 1), "candidate_diameter_mm": round(s.diameter_mm, 1)}


PIPELINE = NodulePipeline()
