"""Chest-CT nodule pipeline: candidates on the whole scan → 3D CNN score per candidate → marks with a
mask, volume, axes and their own explanation map.

0. A CT with slices thinner than the model's ``input.slice_thickness_mm`` is first brought to that
   thickness (:func:`~ai.pipelines.nodule_patches.harmonise_thickness`), as its training data was; the
   findings, masks and maps are placed on the CT's own grid.
1. Candidates (:mod:`ai.pipelines.nodule_candidates`): a closed lung mask (keeps juxtapleural nodules)
   and dense blobs at several scales (3 mm … 70 mm). Every candidate is scored: no cap.
2. Each candidate's patch (:mod:`ai.pipelines.nodule_patches`, the code training used; the contract —
   size, spacing, HU window, fill — read from ``model.json`` by :class:`PatchSpec`) goes through the ONNX
   model: ``logits`` (N, 2) in the order of ``labels`` (calibrated: the validation temperature is inside
   the graph) and ``cam`` (N, 2, c, c, c).
3. A candidate is **marked** when its probability ≥ the operating threshold of ``model.json`` (chosen for
   ≤ 4 false marks per scan); ``model.json``'s ``mark_rules`` ``per_scan_cap``, where present, keeps all
   but the highest ``limit`` marks unmarked and the finding says so (``hidden_by``). The
   :data:`LISTED_BELOW` highest-scoring unmarked candidates are listed too, as not marked.
4. Every listed finding gets a mask, volume and long/short axes (:mod:`ai.pipelines.nodule_measure`) and
   its own explanation map: its candidate's CAM at the CAM's resolution, centred on it, inside the part
   of the patch the CNN saw (:class:`ai.region_map.RegionMap`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import SimpleITK as sitk

from ai.findings import Finding, located
from ai.image import ImageInput
from ai.package import ModelPackage
from ai.pipelines import ModelOutputs, PipelineResult, Prepared
from ai.pipelines import nodule_candidates as candidates_stage
from ai.pipelines.nodule_measure import measure
from ai.pipelines.nodule_patches import (
    PatchSpec,
    candidate_patches,
    crop_half_sizes,
    crop_like,
    harmonise_thickness,
    iso_volume,
    window,
)
from ai.region_map import RegionMap
from ai.resample import normalise01
from ai.scores import softmax

__all__ = ["PIPELINE", "PatchSpec", "crop_like", "score", "window"]

LISTED_BELOW = 10
CAP_RULE = "per_scan_cap"
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


def candidate_map(img: sitk.Image, centre_mm: np.ndarray, diameter_mm: float, cam: np.ndarray,
                  spec: PatchSpec) -> RegionMap:
    """One candidate's CAM (c³ cells over its patch) on the image grid: nearest cell per image voxel
    inside the part of the patch the CNN saw (:func:`crop_like`'s box), zero elsewhere."""
    direction = np.array(img.GetDirection()).reshape(3, 3)
    corner = centre_mm - direction @ np.full(3, (spec.patch / 2 - 0.5) * spec.spacing_mm)
    origin = np.array(img.TransformPhysicalPointToContinuousIndex(tuple(float(v) for v in corner)))[::-1]
    step = spec.spacing_mm / np.array(img.GetSpacing())[::-1]  # image voxels per patch voxel
    cell = spec.patch / cam.shape[0]  # patch voxels per CAM cell
    start = np.floor(origin - 0.5 * step).astype(int)
    stop = np.ceil(origin + (spec.patch - 0.5) * step).astype(int)
    half_z, half_xy = crop_half_sizes(diameter_mm, spec)
    middle = (spec.patch - 1) / 2
    index, inside = [], []
    for a, b, o, s, n, half in zip(start, stop, origin, step, cam.shape, (half_z, half_xy, half_xy),
                                   strict=True):
        pos = (np.arange(a, b) - o) / s
        ix = np.floor((pos + 0.5) / cell).astype(int)
        index.append(np.clip(ix, 0, n - 1))
        inside.append((ix >= 0) & (ix < n) & (np.abs(pos - middle) <= half))
    cells = cam[np.ix_(*index)]
    seen = inside[0][:, None, None] & inside[1][None, :, None] & inside[2][None, None, :]
    values = np.zeros(cells.shape, np.float32)
    if seen.any():  # min-max over the cells the CNN saw, as the 2D pipelines normalise their CAMs
        values[seen] = normalise01(cells[seen])
    shape = tuple(reversed(img.GetSize()))
    return RegionMap(values, tuple(int(v) for v in start), shape, (cell * spec.spacing_mm,) * 3)


class NodulePipeline:
    """The engine's ``Pipeline`` protocol: ``prepare`` finds and cuts candidates, ``interpret`` marks,
    measures and explains them."""

    def prepare(self, image: ImageInput, package: ModelPackage) -> Prepared:
        spec = PatchSpec.of(package)
        img = to_sitk(image.voxels, image.spacing, image.index_to_patient((0, 0, 0)), image.direction)
        thick = harmonise_thickness(img, spec.slice_mm)  # as trained; findings and maps stay on img's grid
        cands, _ = candidates_stage.find(thick)
        volume, iso = iso_volume(thick, spec)
        patches = candidate_patches(volume, iso, [c.centre_mm for c in cands], [c.diameter_mm for c in cands],
                                    spec)
        inputs = patches if len(cands) else np.zeros((1, 1) + (spec.patch,) * 3, np.float32)
        return Prepared(inputs, {"img": img, "spec": spec, "candidates": cands})

    def interpret(self, image: ImageInput, package: ModelPackage, prepared: Prepared,
                  outputs: ModelOutputs) -> PipelineResult:
        cands, img, spec = (prepared.context[k] for k in ("candidates", "img", "spec"))
        if not cands:
            return PipelineResult([], notes=["no nodule candidates inside the lung mask"])
        positive = package.labels[-1]
        point = package.operating_point(positive)
        threshold = DEFAULT_THRESHOLD if point is None else float(point.threshold)
        probs = softmax(outputs.outputs["logits"])[:, -1]
        cams = outputs.outputs["cam"][:, -1]
        scored = [_scored(img, c, float(p), cam) for c, p, cam in zip(cands, probs, cams, strict=True)]
        scored.sort(key=lambda s: -s.probability)
        n_marked = sum(s.probability >= threshold for s in scored)
        cap = package.mark_rule(CAP_RULE)
        result = PipelineResult([], notes=[
            f"{len(cands)} candidates scored; {n_marked} at score ≥ {threshold:.3f} "
            f"({'no cap' if cap is None else 'marking rule ' + CAP_RULE + ': ' + cap.description}); "
            f"the {min(LISTED_BELOW, len(scored) - n_marked)} highest below it are listed, not marked"])
        for rank, s in enumerate(scored[: n_marked + LISTED_BELOW]):
            key = f"{positive}-{rank + 1:03d}"
            result.maps[key] = candidate_map(img, s.centre_mm, s.diameter_mm, s.cam, spec)
            hidden = cap is not None and s.probability >= threshold and rank >= cap.limit
            result.findings.append(_finding(package, image, s, threshold, key, CAP_RULE if hidden else None))
        return result


def _scored(img: sitk.Image, cand, probability: float, cam: np.ndarray) -> Scored:
    ijk = img.TransformPhysicalPointToContinuousIndex(tuple(float(v) for v in cand.centre_mm))
    return Scored(np.array(ijk[::-1]), np.asarray(cand.centre_mm, float), float(cand.diameter_mm),
                  probability, cam)


def _finding(package: ModelPackage, image: ImageInput, s: Scored, threshold: float, key: str,
             hidden_by: str | None) -> Finding:
    m = measure(image.voxels, image.spacing, s.centre_kji, s.diameter_mm)
    half = s.diameter_mm / 2 / np.asarray(image.spacing, float)
    box = m.box_kji if m.mask.any() else (*(s.centre_kji - half + 0.5), *(s.centre_kji + half + 0.5))
    finding = Finding(package.name, package.version, package.labels[-1], s.probability,
                      s.probability >= threshold, threshold=threshold, explanation=key,
                      explanation_method="cam_output", hidden_by=hidden_by,
                      mask=m.mask if m.mask.any() else None, measurements=_sizes(m, s))
    finding = located(finding, image, box)
    mm = image.index_to_patient(s.centre_kji)
    return replace(finding, center_kji=tuple(float(v) for v in s.centre_kji),
                   center_mm=None if mm is None else tuple(float(v) for v in mm))


def _sizes(m, s: Scored) -> dict[str, float]:
    return {"volume_mm3": round(m.volume_mm3, 1), "long_axis_mm": round(m.long_axis_mm, 1),
            "short_axis_mm": round(m.short_axis_mm, 1), "candidate_diameter_mm": round(s.diameter_mm, 1)}


PIPELINE = NodulePipeline()
