"""Run a model package on labelled records and turn its answer into a `CaseResult`.

2D layouts (FracAtlas, brain MRI): the package's pipeline runs through :func:`ai.analysis.run_pipeline`
(the ``prepare``/``interpret`` protocol of :mod:`ai.pipelines`) on an :class:`~ai.image.ImageInput`
built from the file; scope gating is skipped because labelled JPEGs carry no DICOM header (the
model's target is checked against the layout instead). A pipeline module that predates the protocol
and offers ``run(session, image)`` is used as such.

Nodule crops: see :mod:`ai.validation.nodule_crops` (candidate patches scored by the CNN).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import numpy as np

from ai.datasets import Loaded, Record
from ai.image import ImageInput
from ai.package import ModelPackage
from ai.validation.cases import CaseResult
from ai.validation.layouts import Layout

Predictor = Callable[[Record], CaseResult]


class PipelineMissing(RuntimeError):
    """No pipeline can run this package here."""


def _no_boxes() -> np.ndarray:
    return np.zeros((0, 4))


def base_fields(record: Record, layout: Layout) -> dict[str, Any]:
    """Truth fields every case carries."""
    boxes = np.asarray(record.boxes, float).reshape(-1, 4) if record.boxes else _no_boxes()
    return {"id": record.id, "truth": record.label, "subgroups": layout.subgroups(record),
            "group": record.patient, "gt_boxes": boxes}


def image_input(loaded: Loaded, modality: str) -> ImageInput:
    """A labelled image as the engine's input: 2D arrays become one slice ``[1, H, W]``."""
    if loaded.array.ndim == 2:
        return ImageInput(voxels=loaded.array[None], spacing=(1.0, *loaded.spacing), modality=modality,
                          has_geometry=loaded.has_geometry)
    return ImageInput(voxels=loaded.array, spacing=tuple(loaded.spacing), modality=modality,
                      origin=tuple(loaded.origin or (0.0, 0.0, 0.0)), has_geometry=loaded.has_geometry)


# --- protocol pipelines (ai.pipelines.get_pipeline + ai.analysis.run_pipeline) --------------------


def _xy_box(box_kji: tuple[float, ...]) -> tuple[float, float, float, float]:
    """``(k0, j0, i0, k1, j1, i1)`` → ``(x0, y0, x1, y1)`` = ``(i0, j0, i1, j1)``."""
    return (box_kji[2], box_kji[1], box_kji[5], box_kji[4])


def _slice_map(result: Any, finding: Any | None) -> np.ndarray | None:
    """The explanation map of the top finding (else the first map), as a 2D array."""
    maps = result.maps or {}
    key = getattr(finding, "explanation", None)
    chosen = maps.get(key) if key in maps else next(iter(maps.values()), None)
    return None if chosen is None else np.asarray(chosen).reshape(np.asarray(chosen).shape[-2:])


def _protocol_case(record: Record, layout: Layout, package: ModelPackage, result: Any) -> CaseResult:
    """Fracture: positive-class probability, boxes of the passing findings (none passing: every true box
    is missed). Tumour: most probable type and the top finding's box."""
    findings = sorted(result.findings, key=lambda f: -f.score)
    top = findings[0] if findings else None
    heatmap = _slice_map(result, top)
    missing = heatmap is None and package.explanation != "none"
    common = {**base_fields(record, layout), "heatmap": heatmap, "heatmap_missing": missing}
    positive = package.labels[-1]
    if layout.target == "fracture":
        score = result.probabilities.get(positive)
        if score is None:
            score = max((f.score for f in findings if f.label == positive), default=0.0)
        boxes = [_xy_box(f.box_kji) for f in findings if f.passes_operating_point and f.box_kji]
        return CaseResult(**common, positive=record.label_index == 1, score=float(score),
                          pred_boxes=np.asarray(boxes, float).reshape(-1, 4))
    predicted = result.label or (top.label if top else None)
    boxes = [_xy_box(top.box_kji)] if top is not None and top.box_kji else []
    return CaseResult(**common, predicted=predicted, probabilities=dict(result.probabilities) or None,
                      pred_boxes=np.asarray(boxes, float).reshape(-1, 4))


def protocol_predictor(package: ModelPackage, layout: Layout, pipeline: Any) -> Predictor:
    """Cases from the engine's ``run_pipeline`` with ``pipeline``."""
    from ai.analysis import run_pipeline

    def predict(record: Record) -> CaseResult:
        image = image_input(record.load(), layout.modality)
        result = run_pipeline(package, image, pipeline=pipeline, check_scope=False)
        return _protocol_case(record, layout, package, result)

    return predict


# --- pipeline modules with run(session, image) ----------------------------------------------------


def _session(package: ModelPackage) -> Any:
    from ai.runtime import get_session

    return get_session(package.onnx_path).session


def _positive_score(result: Any, positive: str) -> float:
    for name in ("probability", "score"):
        value = getattr(result, name, None)
        if isinstance(value, float | int | np.floating):
            return float(value)
    probabilities = getattr(result, "probabilities", None)
    if isinstance(probabilities, dict) and positive in probabilities:
        return float(probabilities[positive])
    raise TypeError(f"cannot find the '{positive}' score in the pipeline's result {type(result).__name__}")


def module_predictor(package: ModelPackage, layout: Layout, module: Any) -> Predictor:
    """Cases from a pipeline module's ``run(session, array)`` (tumour: label/probabilities/box/cam;
    fracture: probability or probabilities, cam, optional boxes)."""
    session, positive = _session(package), package.labels[-1]

    def predict(record: Record) -> CaseResult:
        result = module.run(session, record.load().array)
        cam = getattr(result, "cam", None)
        missing = cam is None and package.explanation != "none"
        common = {**base_fields(record, layout), "heatmap": cam, "heatmap_missing": missing}
        if layout.target == "fracture":
            boxes = getattr(result, "boxes", None)
            return CaseResult(**common, positive=record.label_index == 1,
                              score=_positive_score(result, positive),
                              pred_boxes=None if boxes is None else np.asarray(boxes, float).reshape(-1, 4))
        box = getattr(result, "box", None)
        return CaseResult(**common, predicted=result.label,
                          probabilities=getattr(result, "probabilities", None),
                          pred_boxes=None if box is None else np.asarray([box], float).reshape(-1, 4))

    return predict


def _module_with_run(package: ModelPackage) -> Any | None:
    name = package.pipeline or package.target
    try:
        module = importlib.import_module(f"ai.pipelines.{name}")
    except ModuleNotFoundError:
        return None
    return module if callable(getattr(module, "run", None)) else None


def predictor_for(package: ModelPackage, layout: Layout) -> Predictor:
    """The way to run this package on this layout's records (raises :class:`PipelineMissing`)."""
    if layout.target == "nodule":
        from ai.validation.nodule_crops import nodule_crop_predictor

        return nodule_crop_predictor(package, layout)
    from ai.pipelines import PipelineMissing as EngineMissing
    from ai.pipelines import get_pipeline

    try:
        return protocol_predictor(package, layout, get_pipeline(package))
    except EngineMissing as exc:
        module = _module_with_run(package)
        if module is None:
            raise PipelineMissing(str(exc)) from exc
        return module_predictor(package, layout, module)
