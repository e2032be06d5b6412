"""Brain-MRI tumour pipeline: one 2D slice in → tumour type, box and class-activation map out.

Everything about the input (size, letterbox, 8-bit ÷ 255 / percentile stretch, MONOCHROME1 inversion)
and the labels comes from ``model.json`` (``resources/models/tumour-mri``); outputs ``logits`` (N, K)
in the order of ``labels``, ``cam`` (N, K, h, w), ``box`` (N, 4) normalised (cx, cy, w, h) on the
model grid. Every slice of the training set holds a tumour, so the model always names a type and a
box: it cannot say "no tumour".
"""

from __future__ import annotations

import numpy as np

from ai.findings import Finding, located
from ai.image import ImageInput
from ai.package import ModelPackage
from ai.pipelines import ModelOutputs, PipelineResult, Prepared
from ai.pipelines.preprocess2d import Letterbox, model_input_2d, unletterbox_map
from ai.resample import normalise01
from ai.scores import softmax

ASSUMES_TUMOUR = "the model assumes a tumour is present (trained on tumour slices only)"


def box_to_input(box: np.ndarray, lb: Letterbox) -> tuple[float, float, float, float]:
    """Normalised (cx, cy, w, h) on the model grid → (x0, y0, x1, y1) in input pixels, clipped."""
    cx, cy, w, h = (float(v) * lb.size for v in box)
    h_in, w_in = lb.shape
    x0 = min(max((cx - w / 2 - lb.pad_x) / lb.scale, 0.0), w_in)
    x1 = min(max((cx + w / 2 - lb.pad_x) / lb.scale, 0.0), w_in)
    y0 = min(max((cy - h / 2 - lb.pad_y) / lb.scale, 0.0), h_in)
    y1 = min(max((cy + h / 2 - lb.pad_y) / lb.scale, 0.0), h_in)
    return x0, y0, x1, y1


class TumourPipeline:
    """The engine's ``Pipeline`` protocol (``ai.pipelines``) for the tumour model."""

    def prepare(self, image: ImageInput, package: ModelPackage) -> Prepared:
        x, lb = model_input_2d(image, package.input)
        return Prepared(x, {"letterbox": lb})

    def interpret(self, image: ImageInput, package: ModelPackage, prepared: Prepared,
                  outputs: ModelOutputs) -> PipelineResult:
        lb: Letterbox = prepared.context["letterbox"]
        probs = softmax(outputs.outputs["logits"][0])
        k = int(probs.argmax())
        label = package.labels[k]
        probabilities = {name: float(p) for name, p in zip(package.labels, probs, strict=True)}
        heat = normalise01(unletterbox_map(outputs.outputs["cam"][0, k], lb))
        x0, y0, x1, y1 = box_to_input(outputs.outputs["box"][0], lb)
        finding = Finding(package.name, package.version, label, probabilities[label], True,
                          explanation=label, explanation_method="cam_output")
        return PipelineResult([located(finding, image, (0.0, y0, x0, 1.0, y1, x1))],
                              maps={label: heat[None].astype(np.float32)},
                              probabilities=probabilities, notes=[ASSUMES_TUMOUR])


PIPELINE = TumourPipeline()
