"""Brain-MRI tumour pipeline: one 2D slice in → tumour type, box and class-activation map out.

Model contract (``resources/models/tumour-mri``): input ``image`` (N, 1, 224, 224) float32 in [0, 1]
(the slice letterboxed to a square); outputs ``logits`` (N, 3), ``cam`` (N, 3, 14, 14), ``box`` (N, 4)
normalised (cx, cy, w, h) on the model grid. Every slice of the training set holds a tumour, so the
model always names a type and a box: it cannot say "no tumour".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ai.findings import Finding, located
from ai.pipelines import ModelOutputs, PipelineResult, Prepared
from ai.pipelines.preprocess2d import letterbox_square, run_all_outputs, to_unit_range, unletterbox_map
from ai.resample import normalise01
from ai.scores import softmax

NAME = "tumour-mri"
SIZE = 224
LABELS: tuple[str, ...] = ("glioma", "meningioma", "pituitary")


@dataclass(frozen=True)
class Letterbox:
    """How the input slice was placed on the model grid."""

    shape: tuple[int, int]
    scale: float
    pad_x: int
    pad_y: int


@dataclass(frozen=True)
class TumourResult:
    label: str
    probabilities: dict[str, float]
    box: tuple[float, float, float, float]  # (x0, y0, x1, y1) in input pixels (column, row)
    cam: np.ndarray  # predicted class's activation map on the input grid, (H, W) float32


def preprocess(slice2d: np.ndarray, size: int = SIZE) -> tuple[np.ndarray, Letterbox]:
    """(H, W) slice → (1, 1, size, size) float32 in [0, 1] and the letterbox used."""
    unit = to_unit_range(np.asarray(slice2d))
    boxed, scale, pad_x, pad_y = letterbox_square(unit, size)
    x = boxed.astype(np.float32)[None, None]
    return x, Letterbox(tuple(slice2d.shape[:2]), scale, pad_x, pad_y)


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
    """One case of the session's outputs → type, probabilities, box and map on the input grid."""
    probs = softmax(outputs["logits"][index])
    k = int(probs.argmax())
    cam = unletterbox_map(outputs["cam"][index, k], SIZE, lb.scale, lb.pad_x, lb.pad_y, lb.shape)
    return TumourResult(
        label=LABELS[k],
        probabilities={name: float(p) for name, p in zip(LABELS, probs, strict=True)},
        box=box_to_input(outputs["box"][index], lb),
        cam=cam,
    )


def run(session, slice2d: np.ndarray) -> TumourResult:
    """Run an onnxruntime ``InferenceSession`` on one slice."""
    x, lb = preprocess(slice2d)
    return postprocess(run_all_outputs(session, x), lb)


class TumourPipeline:
    """The engine's ``Pipeline`` protocol (``ai.pipelines``) around :func:`preprocess`/:func:`postprocess`."""

    def prepare(self, image, package) -> Prepared:
        voxels = image.voxels[0]
        if image.photometric_interpretation == "MONOCHROME1":
            voxels = voxels.max() - voxels
        x, lb = preprocess(voxels)
        return Prepared(x, {"letterbox": lb})

    def interpret(self, image, package, prepared: Prepared, outputs: ModelOutputs) -> PipelineResult:
        result = postprocess(outputs.outputs, prepared.context["letterbox"])
        x0, y0, x1, y1 = result.box
        finding = Finding(package.name, package.version, result.label, result.probabilities[result.label],
                          True, explanation=result.label, explanation_method="cam_output")
        heat = normalise01(result.cam)
        return PipelineResult([located(finding, image, (0.0, y0, x0, 1.0, y1, x1))],
                              maps={result.label: heat[None].astype(np.float32)},
                              probabilities=result.probabilities,
                              notes=["the model assumes a tumour is present (trained on tumour slices only)"])


PIPELINE = TumourPipeline()
