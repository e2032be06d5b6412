"""``radsight validate`` as a function: model package + labelled folder → metrics.json and plots."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ai.package import ModelPackage
from ai.pipelines import PipelineMissing
from ai.registry import ModelError, ModelRegistry
from ai.validation.cases import score_case
from ai.validation.layouts import Layout, LayoutError, detect_layout, read_subset_ids, select_cases
from ai.validation.predict import ImageReader, dataset_reader, predictor_for
from ai.validation.report import ValidationReport, build_report, write_report

log = logging.getLogger("radsight.validate")
DEFAULT_THRESHOLD = 0.5


class ValidationError(RuntimeError):
    """Validation cannot run; the message is the one-line reason."""


@dataclass(frozen=True)
class ValidateRequest:
    """What to validate, on what, and how."""

    model: str
    data: Path
    out: Path
    limit: int | None = None
    subset_file: Path | None = None
    split: str | None = None
    n_boot: int = 1000
    seed: int = 0


def operating_threshold(package: ModelPackage) -> tuple[float, str]:
    """The positive label's default operating threshold from ``model.json`` (else 0.5), and its source."""
    point = package.operating_point(package.labels[-1]) or (package.operating_points or (None,))[0]
    if point is None or not math.isfinite(point.threshold):
        return DEFAULT_THRESHOLD, f"no operating point in model.json: {DEFAULT_THRESHOLD} used"
    return float(point.threshold), f"model.json operating point '{point.name}' for '{point.label}'"


def _load(registry: ModelRegistry, request: ValidateRequest) -> tuple[ModelPackage, Layout]:
    try:
        package = registry.load(request.model)
        layout = detect_layout(request.data)
    except (ModelError, LayoutError) as exc:
        raise ValidationError(str(exc)) from exc
    if layout.target != package.target:
        raise ValidationError(f"model '{package.name}' detects {package.target}; {request.data} is a "
                              f"{layout.name} folder (for a {layout.target} model)")
    return package, layout


def validate(request: ValidateRequest, registry: ModelRegistry | None = None,
             progress: Callable[[int, int], None] | None = None,
             read_image: ImageReader = dataset_reader) -> tuple[ValidationReport, list[Path]]:
    """Run the model on every selected case, measure, write ``metrics.json`` + plots under ``out``.

    ``read_image`` turns a labelled file into model input; ``radsight validate`` passes the product's
    reader so what is measured is what ``radsight analyze`` and the viewer compute."""
    package, layout = _load(registry or ModelRegistry(), request)
    try:
        subset = read_subset_ids(request.subset_file, request.split) if request.subset_file else None
        records = select_cases(layout, request.data, subset, request.limit)
        predict = predictor_for(package, layout, read_image)
    except (LayoutError, PipelineMissing, OSError) as exc:
        raise ValidationError(str(exc)) from exc
    start, cases = time.perf_counter(), []
    for k, record in enumerate(records):
        cases.append(score_case(predict(record)))
        if progress:
            progress(k + 1, len(records))
    threshold, source = operating_threshold(package)
    details = {
        "layout": layout.name, "data": str(request.data), "limit": request.limit,
        "subset_file": str(request.subset_file) if request.subset_file else None, "split": request.split,
        "threshold_source": source, "caveat": layout.caveat, "seconds": round(time.perf_counter() - start, 1),
        "card_metrics": {k: {"value": m.value, "ci95": m.ci95} for k, m in package.metrics.items()},
        "disclaimer": "not for diagnostic use",
    }
    box_point = package.operating_point(package.target, "box")
    box_threshold = box_point.threshold if box_point is not None and box_point.name == "box" else None
    report = build_report(package.name, package.version, cases, threshold, n_boot=request.n_boot,
                          seed=request.seed, details=details, box_threshold=box_threshold,
                          prefix=layout.metric_prefix)
    return report, write_report(report, request.out)
