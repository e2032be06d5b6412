"""Radiograph fracture pipeline: one 2D radiograph in → fracture probability for triage, fracture boxes
with scores (a CenterNet-style detector at stride 8), the detector's centre map as the explanation, and
"not scored" for inputs that do not look like the training radiographs.

Everything about the input (size, letterbox, 8-bit ÷ 255 / percentile stretch, MONOCHROME1 inversion)
comes from ``model.json`` (``resources/models/fracture-radiograph``). Outputs: ``logits`` (N, 2)
(no fracture, fracture), ``cam`` (N, 2, 20, 20), ``heat`` (N, 1, 40, 40) fracture-centre probability per
stride-8 cell, ``reg`` (N, 4, 40, 40) centre offset x/y and log width/height in cells, ``ood_distance``
(N,) (see :mod:`ai.ood`).
Operating points in ``model.json``: ``default`` (image-level probability, triage) and ``box`` (box score).
Box sizes are scaled by the package's ``box_size.json`` where it ships one (:mod:`ai.box_size`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ai.box_decode import decode_centres
from ai.box_size import load_box_scale, scale_boxes
from ai.findings import Finding, located
from ai.image import ImageInput
from ai.ood import load_guard, verdict
from ai.package import ModelPackage
from ai.pipelines import ModelOutputs, PipelineResult, Prepared
from ai.pipelines.preprocess2d import Letterbox, model_input_2d, unletterbox_map
from ai.scores import softmax

STRIDE = 8  # model-grid pixels per cell of ``heat`` / ``reg``
MAX_BOXES = 5  # candidates reported per image (best first)
MIN_BOX_SCORE = 0.05  # candidates below this are not reported at all
# Image-level score for triage, chosen on validation (ai.training.fracture_decode): "head" (the image head's
# probability), "centre_peak" (the centre map's maximum) or "mean" (the mean of the two).
IMAGE_SCORE = "mean"
NMS_IOU: float | None = None  # greedy box NMS after the 3×3 peak NMS (chosen on validation; None: peaks only)


@dataclass(frozen=True)
class FractureResult:
    probability: float
    heat: np.ndarray  # fracture-centre map on the input grid (H, W), float32 in [0, 1]
    boxes: np.ndarray  # (K, 4) x0, y0, x1, y1 in input pixels, best first
    box_scores: np.ndarray  # (K,)


def to_input(boxes: np.ndarray, lb: Letterbox) -> np.ndarray:
    """(K, 4) boxes in model-grid pixels → input pixels, clipped to the image."""
    h, w = lb.shape
    out = (boxes - np.array([lb.pad_x, lb.pad_y, lb.pad_x, lb.pad_y], np.float32)) / lb.scale
    return np.clip(out, 0, [w, h, w, h]).astype(np.float32)


def postprocess(outputs: dict[str, np.ndarray], lb: Letterbox, index: int = 0,
                box_scale: tuple[float, float] = (1.0, 1.0)) -> FractureResult:
    """One case of the session's outputs → image score, centre map and boxes in input pixels, each box
    scaled about its centre by ``box_scale`` (the package's size calibration, :mod:`ai.box_size`)."""
    p = float(softmax(outputs["logits"][index])[-1])
    heat = outputs["heat"][index, 0]
    p = image_score(p, float(heat.max()))
    boxes, scores = decode_centres(heat, outputs["reg"][index], STRIDE, MAX_BOXES, MIN_BOX_SCORE, NMS_IOU)
    boxes = scale_boxes(boxes, box_scale)
    full = np.clip(unletterbox_map(heat, lb), 0, 1).astype(np.float32)
    return FractureResult(p, full, to_input(boxes, lb), scores)


def image_score(head: float, centre_peak: float) -> float:
    """The triage score of IMAGE_SCORE from the image head's probability and the centre map's maximum."""
    return {"head": head, "centre_peak": centre_peak, "mean": (head + centre_peak) / 2}[IMAGE_SCORE]


def box_threshold(package) -> float | None:
    point = package.operating_point("fracture", "box")
    return None if point is None or point.name != "box" else point.threshold


class FracturePipeline:
    """The engine's ``Pipeline`` protocol (``ai.pipelines``) around :func:`preprocess`/:func:`postprocess`."""

    def prepare(self, image: ImageInput, package: ModelPackage) -> Prepared:
        x, lb = model_input_2d(image, package.input)
        return Prepared(x, {"letterbox": lb})

    def interpret(self, image: ImageInput, package: ModelPackage, prepared: Prepared,
                  outputs: ModelOutputs) -> PipelineResult:
        ood = verdict(load_guard(package.directory), outputs.outputs)
        if ood is not None and ood.refused:
            return PipelineResult([], notes=[ood.message])
        result = postprocess(outputs.outputs, prepared.context["letterbox"],
                             box_scale=load_box_scale(package.directory))
        threshold = box_threshold(package)
        findings = [
            self._finding(image, package, box, float(s), threshold)
            for box, s in zip(result.boxes, result.box_scores, strict=True)
        ]
        point = package.operating_point("fracture")
        notes = [
            _triage_note(result.probability, None if point is None else point.threshold),
            f"{sum(f.passes_operating_point for f in findings)} fracture box(es) pass the box threshold",
        ]
        return PipelineResult(
            findings,
            maps={"fracture": result.heat[None]},
            probabilities={"no fracture": 1.0 - result.probability, "fracture": result.probability},
            notes=notes,
        )

    @staticmethod
    def _finding(image, package, box: np.ndarray, score: float, threshold: float | None) -> Finding:
        passes = threshold is None or score >= threshold
        finding = Finding(
            package.name,
            package.version,
            "fracture",
            score,
            passes,
            threshold=threshold,
            explanation="fracture",
            explanation_method="detector centre map",
        )
        x0, y0, x1, y1 = (float(v) for v in box)
        return located(finding, image, (0.0, y0, x0, 1.0, y1, x1))


def _triage_note(probability: float, threshold: float | None) -> str:
    if threshold is None:
        return f"fracture probability {probability:.2f} (image level)"
    verdict_word = "at or above" if probability >= threshold else "below"
    return (f"fracture probability {probability:.2f} (image level), {verdict_word} the triage threshold "
            f"{threshold:.2f}")


PIPELINE = FracturePipeline()
