"""Run a model package on labelled records and turn its answer into a `CaseResult`.

2D layouts (FracAtlas, brain MRI): each record's file becomes an :class:`~ai.image.ImageInput` through
the ``read_image`` the caller hands in - ``radsight validate`` passes the product's own reader
(:func:`viewer.analysis.read_image_input`, the path ``radsight analyze`` and the viewer use) - and the
package's pipeline runs on it through :func:`ai.analysis.run_pipeline`, exactly as in the product.
Scope gating is skipped because labelled JPEGs carry no DICOM header (the model's target is checked
against the layout instead).

Nodule crops: see :mod:`ai.validation.nodule_crops` (candidate patches scored by the CNN).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ai.datasets import Loaded, Record
from ai.image import ImageInput
from ai.package import ModelPackage
from ai.pipelines import Pipeline, PipelineResult
from ai.region_map import full_map
from ai.validation.cases import CaseResult
from ai.validation.layouts import Layout

Predictor = Callable[[Record], CaseResult]
#: ``read_image(path, modality) -> ImageInput``: how a labelled file becomes model input.
ImageReader = Callable[[Path, str], ImageInput]


def _no_boxes() -> np.ndarray:
    return np.zeros((0, 4))


def base_fields(record: Record, layout: Layout) -> dict[str, Any]:
    """Truth fields every case carries."""
    boxes = np.asarray(record.boxes, float).reshape(-1, 4) if record.boxes else _no_boxes()
    return {"id": record.id, "truth": record.label, "subgroups": layout.subgroups(record),
            "group": record.patient, "gt_boxes": boxes}


def image_input(loaded: Loaded, modality: str) -> ImageInput:
    """A labelled array as the engine's input: 2D arrays become one slice ``[1, H, W]``."""
    if loaded.array.ndim == 2:
        return ImageInput(voxels=loaded.array[None], spacing=(1.0, *loaded.spacing), modality=modality,
                          has_geometry=loaded.has_geometry)
    return ImageInput(voxels=loaded.array, spacing=tuple(loaded.spacing), modality=modality,
                      origin=tuple(loaded.origin or (0.0, 0.0, 0.0)), has_geometry=loaded.has_geometry)


def dataset_reader(path: Path, modality: str) -> ImageInput:
    """The labelled-data reader (:meth:`ai.datasets.Record.load`) as an :data:`ImageReader`, for
    callers that cannot import the viewer (training scripts); it reads 8-bit images as uint8 like
    the product's reader (a test keeps the two equal on the shipped data)."""
    record = Record(id=Path(path).stem, path=Path(path), label="", label_index=-1)
    return image_input(record.load(), modality)


def _xy_box(box_kji: tuple[float, ...]) -> tuple[float, float, float, float]:
    """``(k0, j0, i0, k1, j1, i1)`` → ``(x0, y0, x1, y1)`` = ``(i0, j0, i1, j1)``."""
    return (box_kji[2], box_kji[1], box_kji[5], box_kji[4])


def _slice_map(result: PipelineResult, finding: Any | None) -> np.ndarray | None:
    """The explanation map of the top finding (else the first map), as a 2D array."""
    maps = result.maps or {}
    key = getattr(finding, "explanation", None)
    chosen = maps.get(key) if key in maps else next(iter(maps.values()), None)
    if chosen is None:
        return None
    heat = full_map(chosen)
    return heat.reshape(heat.shape[-2:])


def case_of(record: Record, layout: Layout, package: ModelPackage, result: PipelineResult) -> CaseResult:
    """Fracture: positive-class probability, boxes of the passing findings (none passing: every true box
    is missed) and every scored candidate box. Tumour on Br35H: presence (1 − P(no tumour)) and the top
    finding's box. Tumour types: the top finding's type ("no tumour" without one) and its box.
    A case the out-of-distribution guard refused carries ``not_scored`` and no finding."""
    findings = sorted(result.findings, key=lambda f: -f.score)
    top = findings[0] if findings else None
    heatmap = _slice_map(result, top)
    missing = heatmap is None and package.explanation != "none"
    common = {**base_fields(record, layout), "heatmap": heatmap, "heatmap_missing": missing,
              "not_scored": is_not_scored(result)}
    positive = package.labels[-1]
    if layout.target == "fracture":
        score = result.probabilities.get(positive)
        if score is None:
            score = max((f.score for f in findings if f.label == positive), default=0.0)
        boxes = [_xy_box(f.box_kji) for f in findings if f.passes_operating_point and f.box_kji]
        located = [f for f in findings if f.box_kji]
        return CaseResult(**common, positive=record.label_index == 1, score=float(score),
                          pred_boxes=np.asarray(boxes, float).reshape(-1, 4),
                          cand_boxes=np.asarray([_xy_box(f.box_kji) for f in located], float).reshape(-1, 4),
                          cand_scores=np.asarray([f.score for f in located], float))
    boxes = [_xy_box(top.box_kji)] if top is not None and top.box_kji else []
    pred_boxes = np.asarray(boxes, float).reshape(-1, 4)
    if layout.metric_prefix == "presence_":
        presence = 1.0 - result.probabilities.get("no tumour", 1.0)
        return CaseResult(**common, positive=record.label_index == 1, score=float(presence),
                          pred_boxes=pred_boxes)
    predicted = top.label if top is not None else ("no tumour" if "no tumour" in result.probabilities
                                                   else result.label)
    return CaseResult(**common, predicted=predicted, probabilities=dict(result.probabilities) or None,
                      pred_boxes=pred_boxes)


def is_not_scored(result: PipelineResult) -> bool:
    """Whether the pipeline refused the input (its out-of-distribution guard's "not scored: ..." note)."""
    return any(note.startswith("not scored") for note in result.notes)


def pipeline_predictor(package: ModelPackage, layout: Layout, pipeline: Pipeline,
                       read_image: ImageReader) -> Predictor:
    """Cases from the engine's ``run_pipeline`` with ``pipeline`` on ``read_image``'s input."""
    from ai.analysis import run_pipeline

    def predict(record: Record) -> CaseResult:
        image = read_image(record.path, layout.modality)
        result = run_pipeline(package, image, pipeline=pipeline, check_scope=False)
        return case_of(record, layout, package, result)

    return predict


def predictor_for(package: ModelPackage, layout: Layout,
                  read_image: ImageReader = dataset_reader) -> Predictor:
    """The way to run this package on this layout's records (raises :class:`ai.pipelines.PipelineMissing`)."""
    if layout.target == "nodule":
        from ai.validation.nodule_crops import nodule_crop_predictor

        return nodule_crop_predictor(package, layout)
    from ai.pipelines.static_registry import get_pipeline

    return pipeline_predictor(package, layout, get_pipeline(package), read_image)
