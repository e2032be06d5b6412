"""Brain-MRI tumour pipeline: one 2D slice in → tumour present or not; where present, its type, box and
activation map; "not scored" for inputs that do not look like the training slices.

Everything about the input (size, letterbox, 8-bit ÷ 255 / percentile stretch, MONOCHROME1 inversion)
comes from ``model.json`` (``resources/models/tumour-mri``). Outputs:
``presence`` (N,) tumour logit; ``logits`` (N, 3) type scores (glioma, meningioma, pituitary; meaningful
where a tumour is present); ``cam`` (N, 4, 14, 14) activation maps in ``model.json`` label order
(tumour, glioma, meningioma, pituitary); ``box`` (N, 4) normalised (cx, cy, w, h) on the model grid;
``ood_distance`` (N,) (see :mod:`ai.ood`). The ``default`` operating point of label ``tumour`` is the
presence threshold: below it the slice gets no finding.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ai.findings import Finding, located
from ai.image import ImageInput
from ai.ood import load_guard, verdict
from ai.package import ModelPackage
from ai.pipelines import ModelOutputs, PipelineResult, Prepared
from ai.pipelines.preprocess2d import Letterbox, model_input_2d, unletterbox_map
from ai.resample import normalise01
from ai.scores import softmax

TYPES: tuple[str, ...] = ("glioma", "meningioma", "pituitary")  # the type logits' order
DEFAULT_PRESENCE_THRESHOLD = 0.5


@dataclass(frozen=True)
class TumourResult:
    presence: float  # probability that the slice shows a tumour
    label: str  # most probable type (meaningful where a tumour is present)
    probabilities: dict[str, float]  # "no tumour" and each type (type probability × presence)
    box: tuple[float, float, float, float]  # (x0, y0, x1, y1) in input pixels (column, row)
    cam: np.ndarray  # presence activation map on the input grid, (H, W) float32


def box_to_input(box: np.ndarray, lb: Letterbox) -> tuple[float, float, float, float]:
    """Normalised (cx, cy, w, h) on the model grid → (x0, y0, x1, y1) in input pixels, clipped."""
    cx, cy, w, h = (float(v) * lb.size for v in box)
    h_in, w_in = lb.shape
    x0 = min(max((cx - w / 2 - lb.pad_x) / lb.scale, 0.0), w_in)
    x1 = min(max((cx + w / 2 - lb.pad_x) / lb.scale, 0.0), w_in)
    y0 = min(max((cy - h / 2 - lb.pad_y) / lb.scale, 0.0), h_in)
    y1 = min(max((cy + h / 2 - lb.pad_y) / lb.scale, 0.0), h_in)
    return x0, y0, x1, y1


def postprocess(outputs: dict[str, np.ndarray], lb: Letterbox, index: int = 0) -> TumourResult:
    """One case of the session's outputs → presence, type, probabilities, box and map on the input grid."""
    presence = float(1.0 / (1.0 + np.exp(-float(np.asarray(outputs["presence"]).reshape(-1)[index]))))
    types = softmax(outputs["logits"][index])
    probabilities = {
        "no tumour": 1.0 - presence,
        **{name: presence * float(p) for name, p in zip(TYPES, types, strict=True)},
    }
    cam = unletterbox_map(outputs["cam"][index, 0], lb)
    box = box_to_input(outputs["box"][index], lb)
    return TumourResult(presence, TYPES[int(types.argmax())], probabilities, box, cam)


def presence_threshold(package) -> float:
    point = package.operating_point("tumour")
    return DEFAULT_PRESENCE_THRESHOLD if point is None else point.threshold


class TumourPipeline:
    """The engine's ``Pipeline`` protocol (``ai.pipelines``) around :func:`preprocess`/:func:`postprocess`."""

    def prepare(self, image: ImageInput, package: ModelPackage) -> Prepared:
        x, lb = model_input_2d(image, package.input)
        return Prepared(x, {"letterbox": lb})

    def interpret(self, image: ImageInput, package: ModelPackage, prepared: Prepared,
                  outputs: ModelOutputs) -> PipelineResult:
        ood = verdict(load_guard(package.directory), outputs.outputs)
        if ood is not None and ood.refused:
            return PipelineResult([], notes=[ood.message])
        result = postprocess(outputs.outputs, prepared.context["letterbox"])
        threshold = presence_threshold(package)
        if result.presence < threshold:
            note = (f"no tumour found: presence {result.presence:.2f} below the operating threshold "
                    f"{threshold:.2f}")
            return PipelineResult([], probabilities=result.probabilities, notes=[note])
        x0, y0, x1, y1 = result.box
        finding = Finding(
            package.name,
            package.version,
            result.label,
            result.presence,
            True,
            threshold=threshold,
            explanation=result.label,
            explanation_method="cam_output",
        )
        type_p = result.probabilities[result.label] / max(result.presence, 1e-9)
        notes = [
            f"tumour presence {result.presence:.2f} (threshold {threshold:.2f}); most likely type "
            f"{result.label} ({type_p:.2f} of the type scores)"
        ]
        return PipelineResult(
            [located(finding, image, (0.0, y0, x0, 1.0, y1, x1))],
            maps={result.label: normalise01(result.cam)[None].astype(np.float32)},
            probabilities=result.probabilities,
            notes=notes,
        )


PIPELINE = TumourPipeline()
