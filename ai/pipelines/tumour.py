"""Brain-MRI tumour pipeline: one 2D slice in → tumour present or not; where present, its type, box and
activation map; "not scored" for inputs that do not look like the training slices.

Model contract (``resources/models/tumour-mri``): input ``image`` (N, 1, 224, 224) float32 in [0, 1]
(the slice letterboxed to a square; uint8 / 255, other depths stretched between percentiles). Outputs:
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
from ai.ood import load_guard, verdict
from ai.pipelines import ModelOutputs, PipelineResult, Prepared
from ai.pipelines.preprocess2d import letterbox_square, run_all_outputs, to_unit_range, unletterbox_map
from ai.resample import normalise01
from ai.scores import softmax

NAME = "tumour-mri"
SIZE = 224
TYPES: tuple[str, ...] = ("glioma", "meningioma", "pituitary")
DEFAULT_PRESENCE_THRESHOLD = 0.5


@dataclass(frozen=True)
class Letterbox:
    """How the input slice was placed on the model grid."""

    shape: tuple[int, int]
    scale: float
    pad_x: int
    pad_y: int


@dataclass(frozen=True)
class TumourResult:
    presence: float  # probability that the slice shows a tumour
    label: str  # most probable type (meaningful where a tumour is present)
    probabilities: dict[str, float]  # "no tumour" and each type (type probability × presence)
    box: tuple[float, float, float, float]  # (x0, y0, x1, y1) in input pixels (column, row)
    cam: np.ndarray  # presence activation map on the input grid, (H, W) float32


def preprocess(slice2d: np.ndarray, size: int = SIZE) -> tuple[np.ndarray, Letterbox]:
    """(H, W) slice → (1, 1, size, size) float32 in [0, 1] and the letterbox used."""
    unit = to_unit_range(np.asarray(slice2d))
    boxed, scale, pad_x, pad_y = letterbox_square(unit, size)
    return boxed.astype(np.float32)[None, None], Letterbox(tuple(slice2d.shape[:2]), scale, pad_x, pad_y)


def box_to_input(box: np.ndarray, lb: Letterbox, size: int = SIZE) -> tuple[float, float, float, float]:
    """Normalised (cx, cy, w, h) on the model grid → (x0, y0, x1, y1) in input pixels, clipped."""
    cx, cy, w, h = (float(v) * size for v in box)
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
    cam = unletterbox_map(outputs["cam"][index, 0], SIZE, lb.scale, lb.pad_x, lb.pad_y, lb.shape)
    return TumourResult(
        presence, TYPES[int(types.argmax())], probabilities, box_to_input(outputs["box"][index], lb), cam
    )


def run(session, slice2d: np.ndarray) -> TumourResult:
    """Run an onnxruntime ``InferenceSession`` on one slice."""
    x, lb = preprocess(slice2d)
    return postprocess(run_all_outputs(session, x), lb)


def presence_threshold(package) -> float:
    point = package.operating_point("tumour")
    return DEFAULT_PRESENCE_THRESHOLD if point is None else point.threshold


class TumourPipeline:
    """The engine's ``Pipeline`` protocol (``ai.pipelines``) around :func:`preprocess`/:func:`postprocess`."""

    def prepare(self, image, package) -> Prepared:
        voxels = image.voxels[0]
        if image.photometric_interpretation == "MONOCHROME1":
            voxels = voxels.max() - voxels
        x, lb = preprocess(voxels)
        return Prepared(x, {"letterbox": lb})

    def interpret(self, image, package, prepared: Prepared, outputs: ModelOutputs) -> PipelineResult:
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
