"""Radiograph fracture pipeline: one 2D radiograph in → fracture probability, decision at the
operating point, class-activation map on the input grid and a box around its hottest region.

Everything about the input (size, letterbox, 8-bit ÷ 255 / percentile stretch, MONOCHROME1 inversion)
and the labels comes from ``model.json`` (``resources/models/fracture-radiograph``); outputs
``logits`` (N, 2) in the order of ``labels`` (the positive class last) and ``cam`` (N, 2, h, w)
(the last feature map weighted by the linear head).
"""

from __future__ import annotations

import numpy as np

from ai.findings import Finding, located
from ai.image import ImageInput
from ai.package import ModelPackage
from ai.pipelines import ModelOutputs, PipelineResult, Prepared
from ai.pipelines.preprocess2d import Letterbox, grid_box_to_input, model_input_2d, unletterbox_map
from ai.resample import normalise01
from ai.scores import softmax


def hot_box(cam: np.ndarray, level: float = 0.5) -> tuple[float, float, float, float]:
    """Bounding box (x0, y0, x1, y1) of the connected region ≥ ``level`` × max around the peak (4-conn.)."""
    peak = np.unravel_index(int(np.argmax(cam)), cam.shape)
    hot = cam >= level * cam[peak]
    seen = np.zeros_like(hot)
    stack = [peak]
    seen[peak] = True
    while stack:
        r, c = stack.pop()
        for nr, nc in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)):
            if 0 <= nr < hot.shape[0] and 0 <= nc < hot.shape[1] and hot[nr, nc] and not seen[nr, nc]:
                seen[nr, nc] = True
                stack.append((nr, nc))
    rows, cols = np.nonzero(seen)
    return float(cols.min()), float(rows.min()), float(cols.max() + 1), float(rows.max() + 1)


def fracture_map(grid: np.ndarray, lb: Letterbox) -> tuple[np.ndarray, tuple[float, ...]]:
    """The positive-class CAM on the model grid → (map on the input grid in [0, 1], box in input pixels)."""
    cam = normalise01(unletterbox_map(grid, lb))
    box = grid_box_to_input(hot_box(grid - grid.min()), lb.size / grid.shape[-1], lb)
    return cam.astype(np.float32), box


class FracturePipeline:
    """The engine's ``Pipeline`` protocol (``ai.pipelines``) for the fracture model."""

    def prepare(self, image: ImageInput, package: ModelPackage) -> Prepared:
        x, lb = model_input_2d(image, package.input)
        return Prepared(x, {"letterbox": lb})

    def interpret(self, image: ImageInput, package: ModelPackage, prepared: Prepared,
                  outputs: ModelOutputs) -> PipelineResult:
        positive = package.labels[-1]
        probs = softmax(outputs.outputs["logits"][0])
        probability = float(probs[-1])
        cam, (x0, y0, x1, y1) = fracture_map(outputs.outputs["cam"][0, -1], prepared.context["letterbox"])
        point = package.operating_point(positive)
        threshold = None if point is None else point.threshold
        passes = threshold is None or probability >= threshold
        finding = Finding(package.name, package.version, positive, probability, passes,
                          threshold=threshold, explanation=positive, explanation_method="cam_output")
        probabilities = {label: float(p) for label, p in zip(package.labels, probs, strict=True)}
        return PipelineResult([located(finding, image, (0.0, y0, x0, 1.0, y1, x1))],
                              maps={positive: cam[None]}, probabilities=probabilities)


PIPELINE = FracturePipeline()
