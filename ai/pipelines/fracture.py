"""Radiograph fracture pipeline: one 2D radiograph in → fracture probability, decision at the
operating point, class-activation map on the input grid and a box around its hottest region.

Model contract (``resources/models/fracture-radiograph``): input ``image`` (N, 1, 320, 320) float32 in
[0, 1] (the radiograph letterboxed to a square; uint8 / 255, other depths stretched between the 0.5 and
99.5 percentiles; MONOCHROME1 inverted first); outputs ``logits`` (N, 2) (no fracture, fracture) and
``cam`` (N, 2, 20, 20) (the last feature map weighted by the linear head).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ai.findings import Finding, located
from ai.pipelines import ModelOutputs, PipelineResult, Prepared
from ai.pipelines.preprocess2d import letterbox_square, run_all_outputs, to_unit_range, unletterbox_map
from ai.resample import normalise01
from ai.scores import softmax

NAME = "fracture-radiograph"
SIZE = 320
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
    cam: np.ndarray  # fracture-class map on the input grid (H, W), float32 in [0, 1]
    box: tuple[float, ...]  # (x0, y0, x1, y1) input pixels around the hottest region of the model-grid map


def preprocess(
    image: np.ndarray, size: int = SIZE, monochrome1: bool = False
) -> tuple[np.ndarray, Letterbox]:
    unit = to_unit_range(np.asarray(image))
    if monochrome1:
        unit = 1.0 - unit
    boxed, scale, pad_x, pad_y = letterbox_square(unit, size)
    return boxed.astype(np.float32)[None, None], Letterbox(tuple(image.shape[:2]), scale, pad_x, pad_y)


def probability(logits: np.ndarray) -> np.ndarray:
    """Softmax probability of the fracture class, (N,)."""
    return softmax(logits)[..., 1]


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


def grid_box_to_input(box: tuple[float, ...], cell: float, lb: Letterbox) -> tuple[float, ...]:
    """A box in model-grid cells → (x0, y0, x1, y1) in input pixels, clipped to the image."""
    h, w = lb.shape
    pads = (lb.pad_x, lb.pad_y) * 2
    x0, y0, x1, y1 = ((v * cell - pad) / lb.scale for v, pad in zip(box, pads, strict=True))
    return (min(max(x0, 0.0), w), min(max(y0, 0.0), h), min(max(x1, 0.0), w), min(max(y1, 0.0), h))


def postprocess(outputs: dict[str, np.ndarray], lb: Letterbox, index: int = 0) -> FractureResult:
    p = float(probability(outputs["logits"][index]))
    grid = outputs["cam"][index, 1]
    cam = unletterbox_map(grid, SIZE, lb.scale, lb.pad_x, lb.pad_y, lb.shape)
    cam = normalise01(cam)
    box = grid_box_to_input(hot_box(grid - grid.min()), SIZE / grid.shape[-1], lb)
    return FractureResult(p, cam.astype(np.float32), box)


def run(session, image: np.ndarray) -> FractureResult:
    x, lb = preprocess(image)
    return postprocess(run_all_outputs(session, x), lb)


class FracturePipeline:
    """The engine's ``Pipeline`` protocol (``ai.pipelines``) around :func:`preprocess`/:func:`postprocess`."""

    def prepare(self, image, package) -> Prepared:
        invert = image.photometric_interpretation == "MONOCHROME1"
        x, lb = preprocess(image.voxels[0], monochrome1=invert)
        return Prepared(x, {"letterbox": lb})

    def interpret(self, image, package, prepared: Prepared, outputs: ModelOutputs) -> PipelineResult:
        result = postprocess(outputs.outputs, prepared.context["letterbox"])
        point = package.operating_point("fracture")
        threshold = None if point is None else point.threshold
        passes = threshold is None or result.probability >= threshold
        x0, y0, x1, y1 = result.box
        finding = Finding(package.name, package.version, "fracture", result.probability, passes,
                          threshold=threshold, explanation="fracture", explanation_method="cam_output")
        probabilities = {"no fracture": 1.0 - result.probability, "fracture": result.probability}
        return PipelineResult([located(finding, image, (0.0, y0, x0, 1.0, y1, x1))],
                              maps={"fracture": result.cam[None]}, probabilities=probabilities)


PIPELINE = FracturePipeline()
