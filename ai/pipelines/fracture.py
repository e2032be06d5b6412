"""Radiograph fracture pipeline: one 2D radiograph in → fracture probability for triage, fracture boxes
with scores (a CenterNet-style detector at stride 8), the detector's centre map as the explanation, and
"not scored" for inputs that do not look like the training radiographs.

Model contract (``resources/models/fracture-radiograph``): input ``image`` (N, 1, 320, 320) float32 in
[0, 1] (the radiograph letterboxed to a square; uint8 / 255, other depths stretched between the 0.5 and
99.5 percentiles; MONOCHROME1 inverted first). Outputs: ``logits`` (N, 2) (no fracture, fracture),
``cam`` (N, 2, 20, 20), ``heat`` (N, 1, 40, 40) fracture-centre probability per stride-8 cell, ``reg``
(N, 4, 40, 40) centre offset x/y and log width/height in cells, ``ood_distance`` (N,) (see :mod:`ai.ood`).
Operating points in ``model.json``: ``default`` (image-level probability, triage) and ``box`` (box score).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ai.box_decode import decode_centres
from ai.findings import Finding, located
from ai.ood import load_guard, verdict
from ai.pipelines import ModelOutputs, PipelineResult, Prepared
from ai.pipelines.preprocess2d import letterbox_square, run_all_outputs, to_unit_range, unletterbox_map
from ai.scores import softmax

NAME = "fracture-radiograph"
SIZE = 320
STRIDE = 8
MAX_BOXES = 5  # candidates reported per image (best first)
MIN_BOX_SCORE = 0.05  # candidates below this are not reported at all
LABELS: tuple[str, ...] = ("no fracture", "fracture")  # model.json labels, in logit order


@dataclass(frozen=True)
class Letterbox:
    shape: tuple[int, int]
    scale: float
    pad_x: int
    pad_y: int


@dataclass(frozen=True)
class FractureResult:
    probability: float
    heat: np.ndarray  # fracture-centre map on the input grid (H, W), float32 in [0, 1]
    boxes: np.ndarray  # (K, 4) x0, y0, x1, y1 in input pixels, best first
    box_scores: np.ndarray  # (K,)


def preprocess(
    image: np.ndarray, size: int = SIZE, monochrome1: bool = False
) -> tuple[np.ndarray, Letterbox]:
    unit = to_unit_range(np.asarray(image))
    if monochrome1:
        unit = 1.0 - unit
    boxed, scale, pad_x, pad_y = letterbox_square(unit, size)
    return boxed.astype(np.float32)[None, None], Letterbox(tuple(image.shape[:2]), scale, pad_x, pad_y)


def to_input(boxes: np.ndarray, lb: Letterbox) -> np.ndarray:
    """(K, 4) boxes in model-grid pixels → input pixels, clipped to the image."""
    h, w = lb.shape
    out = (boxes - np.array([lb.pad_x, lb.pad_y, lb.pad_x, lb.pad_y], np.float32)) / lb.scale
    return np.clip(out, 0, [w, h, w, h]).astype(np.float32)


def postprocess(outputs: dict[str, np.ndarray], lb: Letterbox, index: int = 0) -> FractureResult:
    p = float(softmax(outputs["logits"][index])[1])
    heat = outputs["heat"][index, 0]
    boxes, scores = decode_centres(heat, outputs["reg"][index], STRIDE, MAX_BOXES, MIN_BOX_SCORE)
    full = unletterbox_map(heat, SIZE, lb.scale, lb.pad_x, lb.pad_y, lb.shape)
    return FractureResult(p, np.clip(full, 0, 1).astype(np.float32), to_input(boxes, lb), scores)


def run(session, image: np.ndarray) -> FractureResult:
    x, lb = preprocess(image)
    return postprocess(run_all_outputs(session, x), lb)


def box_threshold(package) -> float | None:
    point = package.operating_point("fracture", "box")
    return None if point is None or point.name != "box" else point.threshold


class FracturePipeline:
    """The engine's ``Pipeline`` protocol (``ai.pipelines``) around :func:`preprocess`/:func:`postprocess`."""

    def prepare(self, image, package) -> Prepared:
        invert = image.photometric_interpretation == "MONOCHROME1"
        x, lb = preprocess(image.voxels[0], monochrome1=invert)
        return Prepared(x, {"letterbox": lb})

    def interpret(self, image, package, prepared: Prepared, outputs: ModelOutputs) -> PipelineResult:
        ood = verdict(load_guard(package.directory), outputs.outputs)
        if ood is not None and ood.refused:
            return PipelineResult([], notes=[ood.message])
        result = postprocess(outputs.outputs, prepared.context["letterbox"])
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
