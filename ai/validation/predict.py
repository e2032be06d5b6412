"""Run a model package's pipeline on labelled records and turn its answer into a `CaseResult`.

One adapter per model target; each takes the package and returns ``predict(record) -> CaseResult``.
The pipelines live in ``ai.pipelines.<target>`` and are called as ``run(session, image)``, the session
being a cached onnxruntime ``InferenceSession`` of the package's ``model.onnx``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np

from ai.datasets import Record
from ai.package import ModelPackage
from ai.validation.cases import CaseResult
from ai.validation.layouts import Layout
from ai.validation.metrics import ScanOutcome, centre_hits, scan_outcome

Predictor = Callable[[Record], CaseResult]


class PipelineMissing(RuntimeError):
    """The model's target has no pipeline module (yet)."""


def _pipeline(target: str) -> ModuleType:
    try:
        return importlib.import_module(f"ai.pipelines.{target}")
    except ModuleNotFoundError as exc:
        missing = f"no pipeline for target '{target}' (ai/pipelines/{target}.py not found)"
        raise PipelineMissing(missing) from exc


def _session(package: ModelPackage) -> Any:
    from ai.runtime import get_session

    return get_session(package.onnx_path).session


def _boxes(value: Any) -> np.ndarray | None:
    if value is None:
        return None
    arr = np.asarray(value, dtype=float)
    return arr.reshape(-1, arr.shape[-1]) if arr.size else np.zeros((0, 4))


def _base(record: Record, layout: Layout) -> dict[str, Any]:
    return {"id": record.id, "truth": record.label, "subgroups": layout.subgroups(record),
            "group": record.patient, "gt_boxes": _boxes(record.boxes) if record.boxes else np.zeros((0, 4))}


def tumour_predictor(package: ModelPackage, layout: Layout) -> Predictor:
    """Type (multi-class), box and map of the brain-MRI tumour model on each slice."""
    pipe, session = _pipeline("tumour"), _session(package)

    def predict(record: Record) -> CaseResult:
        result = pipe.run(session, record.load().array)
        return CaseResult(**_base(record, layout), predicted=result.label, probabilities=result.probabilities,
                          pred_boxes=_boxes([result.box]), heatmap=result.cam)

    return predict


def _positive_score(result: Any, positive: str) -> float:
    for name in ("probability", "score"):
        if isinstance(getattr(result, name, None), float | int | np.floating):
            return float(getattr(result, name))
    probabilities = getattr(result, "probabilities", None)
    if isinstance(probabilities, dict) and positive in probabilities:
        return float(probabilities[positive])
    raise TypeError(f"cannot find the '{positive}' score in the pipeline's result {type(result).__name__}")


def fracture_predictor(package: ModelPackage, layout: Layout) -> Predictor:
    """Fracture probability (binary), explanation map and boxes (where given) on each radiograph."""
    pipe, session = _pipeline("fracture"), _session(package)
    positive = package.labels[-1]

    def predict(record: Record) -> CaseResult:
        result = pipe.run(session, record.load().array)
        pred_boxes = getattr(result, "boxes", None)
        return CaseResult(**_base(record, layout), positive=record.label_index == 1,
                          score=_positive_score(result, positive), heatmap=getattr(result, "cam", None),
                          pred_boxes=_boxes(pred_boxes) if pred_boxes is not None else None)

    return predict


def _nodule_outcome(findings: list[Any], mask: np.ndarray, spacing: np.ndarray,
                    radius_mm: float) -> ScanOutcome:
    """Hit = finding centre within the nodule's radius of the mask's centroid (mm)."""
    centre = np.argwhere(mask).mean(axis=0) * spacing if mask.any() else np.full(spacing.size, np.nan)
    det = np.array([np.asarray(f.center_kji, float) * spacing for f in findings]).reshape(-1, spacing.size)
    scores = np.array([float(f.score) for f in findings])
    return scan_outcome(scores, centre_hits(det, centre[None], [radius_mm]))


def _paint(findings: list[Any], shape: tuple[int, ...]) -> np.ndarray | None:
    """Union of the findings' masks on the crop grid (None when no finding carries a mask)."""
    with_masks = [f for f in findings if getattr(f, "mask", None) is not None and f.box_kji is not None]
    if not with_masks:
        return None
    out = np.zeros(shape, bool)
    for f in with_masks:
        lo = np.maximum(np.round(np.asarray(f.box_kji[:3], float)).astype(int), 0)
        hi = np.minimum(lo + np.asarray(f.mask.shape), shape)
        size = hi - lo
        out[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]] |= f.mask[: size[0], : size[1], : size[2]]
    return out


def nodule_predictor(package: ModelPackage, layout: Layout) -> Predictor:
    """Findings of the CT nodule pipeline on each crop, scored as detections (FROC) and masks (Dice)."""
    from ai.image import ImageInput

    pipe, session = _pipeline("nodule"), _session(package)
    positive = package.labels[-1]

    def predict(record: Record) -> CaseResult:
        loaded = record.load()
        image = ImageInput(voxels=loaded.array, spacing=tuple(loaded.spacing), modality="CT",
                           origin=tuple(loaded.origin or (0.0, 0.0, 0.0)))
        result = pipe.run(session, image)
        found = getattr(result, "findings", result)
        findings = [f for f in found if getattr(f, "label", positive) == positive]
        spacing = np.asarray(loaded.spacing, float)
        radius = float(record.extra.get("diameter_mm", "nan")) / 2
        mask = loaded.mask if loaded.mask is not None else np.zeros(loaded.array.shape, bool)
        passing = [f for f in findings if f.passes_operating_point]
        return CaseResult(**_base(record, layout), outcome=_nodule_outcome(findings, mask, spacing, radius),
                          gt_mask=loaded.mask, pred_mask=_paint(passing, loaded.array.shape),
                          spacing=tuple(loaded.spacing))

    return predict


PREDICTORS: dict[str, Callable[[ModelPackage, Layout], Predictor]] = {
    "tumour": tumour_predictor,
    "fracture": fracture_predictor,
    "nodule": nodule_predictor,
}


def predictor_for(package: ModelPackage, layout: Layout) -> Predictor:
    """The adapter for the package's target (the layout must be for the same target)."""
    return PREDICTORS[package.target](package, layout)
