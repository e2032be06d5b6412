"""From scored cases to ``metrics.json`` and ROC/FROC plots.

``metrics.json``::

    {"model": NAME, "version": V, "n": CASES,
     "metrics": {"auc": {"value": v, "ci95": [lo, hi]}, ...},
     "subgroups": {"hand": {"n": 120, "metrics": {...}}, ...},
     "details": {threshold used, bootstrap settings, definitions, caveats}}

Metric keys (only those the cases support appear): ``sensitivity``, ``specificity``, ``ppv``, ``f1``,
``accuracy``, ``auc``, ``lesion_sensitivity``, ``fp_per_scan``, ``froc_cpm``, ``iou50_recall``,
``cam_in_box``, ``dice``, ``hd95``. Undefined values (e.g. specificity without negatives) are
``null``. Intervals: seeded percentile bootstrap, resampling cases (or their ``group``).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ai.validation import metrics as M
from ai.validation import plots
from ai.validation.bootstrap import Estimate, Statistic, bootstrap_ci, subgroup_indices
from ai.validation.cases import CaseScore
from ai.validation.detection import DETECTION_DEFINITIONS, candidate_statistics, not_scored_statistic

DEFINITIONS = {
    "sensitivity": "TP / (TP + FN) at the operating threshold (score >= threshold is positive)",
    "specificity": "TN / (TN + FP) at the operating threshold",
    "ppv": "TP / (TP + FP) at the operating threshold",
    "f1": "2 TP / (2 TP + FP + FN) at the operating threshold",
    "accuracy": "binary: (TP + TN) / n at the threshold; multi-class: predicted class == true class",
    "auc": "ROC AUC (ties count 1/2); multi-class: mean of one-vs-rest AUCs over the true classes",
    "lesion_sensitivity": "lesions hit by a detection scoring >= threshold / all lesions",
    "fp_per_scan": "detections >= threshold that hit no lesion, per scan (per crop on VOI data)",
    "froc_cpm": "mean lesion sensitivity at 1/8, 1/4, 1/2, 1, 2, 4, 8 FP per scan (FROC, linear interp.)",
    "iou50_recall": "ground-truth boxes overlapped by a predicted box with IoU >= 0.5 / all boxes",
    "cam_in_box": "cases whose explanation-map peak lies inside a ground-truth box / cases with a box",
    "dice": "mean Dice of predicted vs ground-truth mask",
    "hd95": "mean 95th-percentile symmetric Hausdorff distance of mask edges (mm), cases with both masks",
    **DETECTION_DEFINITIONS,
}


THRESHOLD_METRICS = ("sensitivity", "specificity", "ppv", "f1", "lesion_sensitivity", "fp_per_scan")


def _column(cases: Sequence[CaseScore], get: Callable[[CaseScore], object]) -> np.ndarray:
    """A float column (``nan`` where ``get`` returns None)."""
    return np.array([np.nan if (v := get(c)) is None else float(v) for c in cases], dtype=float)


def _applicable(statistic: Callable[[np.ndarray], float], mask: np.ndarray) -> Statistic:
    """Restrict a statistic to the resampled indices whose case carries the metric's fields."""
    return lambda idx: statistic(idx[mask[idx]])


def _binary_statistics(cases: Sequence[CaseScore], threshold: float) -> dict[str, Statistic]:
    y, s = _column(cases, lambda c: c.positive), _column(cases, lambda c: c.score)
    mask = ~np.isnan(y) & ~np.isnan(s)
    if not mask.any():
        return {}

    def ratio(name: str) -> Statistic:
        return _applicable(lambda i: getattr(M.confusion_at(y[i], s[i], threshold), name), mask)

    stats = {name: ratio(name) for name in ("sensitivity", "specificity", "ppv", "f1", "accuracy")}
    stats["auc"] = _applicable(lambda i: M.roc_auc(y[i], s[i]), mask)
    return stats


def _ovr_auc(truth: np.ndarray, probs: np.ndarray, classes: Sequence[str]) -> float:
    aucs = [M.roc_auc(truth == name, probs[:, k]) for k, name in enumerate(classes) if np.any(truth == name)]
    return float(np.nanmean(aucs)) if aucs and not np.all(np.isnan(aucs)) else float("nan")


def _multiclass_statistics(cases: Sequence[CaseScore]) -> dict[str, Statistic]:
    mask = np.array([c.predicted is not None and c.positive is None for c in cases])
    if not mask.any():
        return {}
    truth = np.array([c.truth for c in cases])
    pred = np.array([c.predicted or "" for c in cases])
    stats = {"accuracy": _applicable(lambda i: M.accuracy(truth[i], pred[i]), mask)}
    with_probs = mask & np.array([c.probabilities is not None for c in cases])
    if with_probs.any():
        classes = sorted(next(c.probabilities for c in cases if c.probabilities))
        probs = np.array([[(c.probabilities or {}).get(k, np.nan) for k in classes] for c in cases])
        stats["auc"] = _applicable(lambda i: _ovr_auc(truth[i], probs[i], classes), with_probs)
    return stats


def _ratio_of(num: np.ndarray, den: np.ndarray) -> Callable[[np.ndarray], float]:
    return lambda i: float(num[i].sum() / den[i].sum()) if den[i].sum() else float("nan")


def _mean_of(values: np.ndarray) -> Statistic:
    return lambda i: float(np.mean(values[i])) if i.size else float("nan")


def _localisation_statistics(cases: Sequence[CaseScore]) -> dict[str, Statistic]:
    stats: dict[str, Statistic] = {}
    hits = _column(cases, lambda c: c.boxes_hit)
    if (box_mask := ~np.isnan(hits)).any():
        total = _column(cases, lambda c: c.boxes_total)
        stats["iou50_recall"] = _applicable(_ratio_of(np.nan_to_num(hits), total), box_mask)
    cam = _column(cases, lambda c: c.cam_hit)
    if (cam_mask := ~np.isnan(cam)).any():
        stats["cam_in_box"] = _applicable(_mean_of(cam), cam_mask)
    return stats


def _detection_statistics(cases: Sequence[CaseScore], threshold: float) -> dict[str, Statistic]:
    mask = np.array([c.outcome is not None for c in cases])
    if not mask.any():
        return {}
    outcomes = [c.outcome for c in cases]

    def on(fn: Callable[[list[M.ScanOutcome]], float]) -> Statistic:
        return _applicable(lambda i: fn([outcomes[k] for k in i]) if i.size else float("nan"), mask)

    return {
        "lesion_sensitivity": on(lambda o: M.lesion_sensitivity(o, threshold)),
        "fp_per_scan": on(lambda o: M.fp_per_scan(o, threshold)),
        "froc_cpm": on(lambda o: M.cpm(M.froc_curve(o))),
    }


def _segmentation_statistics(cases: Sequence[CaseScore]) -> dict[str, Statistic]:
    dice = _column(cases, lambda c: c.dice)
    if not (mask := ~np.isnan(dice)).any():
        return {}
    hd = _column(cases, lambda c: c.hd95)
    stats = {"dice": _applicable(_mean_of(dice), mask)}
    if (hd_mask := np.isfinite(hd)).any():
        stats["hd95"] = _applicable(_mean_of(hd), hd_mask)
    return stats


def metric_statistics(cases: Sequence[CaseScore], threshold: float,
                      box_threshold: float | None = None) -> dict[str, Statistic]:
    """Every metric the cases support, as a statistic of an index array into ``cases``."""
    stats: dict[str, Statistic] = {}
    stats |= _multiclass_statistics(cases)
    stats |= _binary_statistics(cases, threshold)
    stats |= _localisation_statistics(cases)
    stats |= _detection_statistics(cases, threshold)
    stats |= _segmentation_statistics(cases)
    stats |= candidate_statistics(cases, box_threshold)
    stats |= not_scored_statistic(cases)
    return stats


@dataclass
class ValidationReport:
    """What ``radsight validate`` measured: overall and per-subgroup estimates, curves, settings."""

    model: str
    version: str
    n: int
    metrics: dict[str, Estimate]
    subgroups: dict[str, dict[str, Estimate]] = field(default_factory=dict)
    subgroup_n: dict[str, int] = field(default_factory=dict)
    details: dict[str, object] = field(default_factory=dict)
    roc: M.RocCurve | None = None
    froc: M.FrocCurve | None = None
    threshold: float | None = None
    cases: list[CaseScore] = field(default_factory=list, repr=False)

    def to_json(self) -> dict[str, object]:
        """The ``metrics.json`` document."""
        def entries(estimates: dict[str, Estimate]) -> dict[str, object]:
            return {k: {key: v.to_json()[key] for key in ("value", "ci95")} for k, v in estimates.items()}

        return {
            "model": self.model,
            "version": self.version,
            "n": self.n,
            "metrics": entries(self.metrics),
            "subgroups": {name: {"n": self.subgroup_n[name], "metrics": entries(est)}
                          for name, est in self.subgroups.items()},
            "details": self.details,
        }


def _estimates(stats: dict[str, Statistic], idx: np.ndarray, groups: list | None,
               n_boot: int, seed: int) -> dict[str, Estimate]:
    return {name: bootstrap_ci(stat, idx, groups=groups, n_boot=n_boot, seed=seed)
            for name, stat in stats.items()}


def _curves(cases: Sequence[CaseScore]) -> tuple[M.RocCurve | None, M.FrocCurve | None]:
    binary = [c for c in cases if c.positive is not None and c.score is not None]
    roc = M.roc_curve([c.positive for c in binary], [c.score for c in binary]) if binary else None
    outcomes = [c.outcome for c in cases if c.outcome is not None]
    return roc, (M.froc_curve(outcomes) if outcomes else None)


def build_report(model: str, version: str, cases: Sequence[CaseScore], threshold: float, n_boot: int = 1000,
                 seed: int = 0, details: dict[str, object] | None = None,
                 box_threshold: float | None = None, prefix: str = "") -> ValidationReport:
    """Estimate every supported metric overall and per subgroup, with bootstrap intervals.

    ``prefix`` is put before the image-level binary metrics' names (``presence_`` on Br35H)."""
    stats = _prefixed(metric_statistics(cases, threshold, box_threshold), prefix)
    groups = [c.group or c.id for c in cases] if any(c.group for c in cases) else None
    overall = _estimates(stats, np.arange(len(cases)), groups, n_boot, seed)
    report = ValidationReport(model, version, len(cases), overall, threshold=threshold, cases=list(cases))
    for name, idx in subgroup_indices([c.subgroups for c in cases]).items():
        report.subgroups[name] = _estimates(stats, idx, groups, n_boot, seed)
        report.subgroup_n[name] = int(idx.size)
    report.roc, report.froc = _curves(cases)
    uses_threshold = any(k in report.metrics or prefix + k in report.metrics for k in THRESHOLD_METRICS)
    report.details = {
        **(details or {}),
        "threshold": threshold if uses_threshold else None,
        "bootstrap": {"replicates": n_boot, "seed": seed, "method": "percentile",
                      "unit": "group (patient/scan)" if groups else "case"},
        "definitions": {k: DEFINITIONS[k.removeprefix(prefix)] for k in report.metrics},
        "metric_prefix": prefix,
        "box_threshold": box_threshold,
    }
    if not uses_threshold:
        report.details["threshold_source"] = "no metric of this model depends on a threshold"
    return report


PREFIXABLE = ("sensitivity", "specificity", "ppv", "f1", "accuracy", "auc")


def _prefixed(stats: dict[str, Statistic], prefix: str) -> dict[str, Statistic]:
    return {(prefix + k if k in PREFIXABLE else k): v for k, v in stats.items()}


def _jsonable(value: object) -> object:
    """Non-finite floats → ``None``, tuples → lists, numpy scalars → Python, recursively."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


CASE_COLUMNS = ("id", "truth", "subgroups", "group", "positive", "score", "predicted", "boxes_total",
                "boxes_hit", "cam_hit", "lesion_scores", "fp_scores", "dice", "hd95", "probabilities")


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, np.ndarray | list | tuple):
        return "|".join(_cell(v) for v in value)
    if isinstance(value, float | np.floating):
        return f"{float(value):.6g}"
    return str(value)


def write_cases_csv(cases: Sequence[CaseScore], path: str | Path) -> Path:
    """One row per case: truth, what the model said, and the per-case numbers behind the metrics."""
    out = Path(path)
    with out.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(CASE_COLUMNS)
        for c in cases:
            lesions = None if c.outcome is None else c.outcome.lesion_scores
            fps = None if c.outcome is None else c.outcome.fp_scores
            probabilities = None if c.probabilities is None else [
                f"{label}={_cell(p)}" for label, p in c.probabilities.items()]
            writer.writerow([_cell(v) for v in (c.id, c.truth, c.subgroups, c.group, c.positive, c.score,
                                                 c.predicted, c.boxes_total, c.boxes_hit, c.cam_hit, lesions,
                                                 fps, c.dice, c.hd95, probabilities)])
    return out


def _value(report: ValidationReport, key: str) -> float | None:
    est = report.metrics.get(key) or report.metrics.get(f"{report.details.get('metric_prefix', '')}{key}")
    return None if est is None else est.value


def write_report(report: ValidationReport, out_dir: str | Path) -> list[Path]:
    """Write ``metrics.json``, ``cases.csv`` and, where they apply, ``roc.png`` and ``froc.png``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "metrics.json"]
    written[0].write_text(json.dumps(_jsonable(report.to_json()), indent=2, allow_nan=False) + "\n")
    written.append(write_cases_csv(report.cases, out / "cases.csv"))
    if report.roc is not None:
        point = None
        sens, spec = _value(report, "sensitivity"), _value(report, "specificity")
        if sens is not None and spec is not None:
            point = (1 - spec, sens)
        written.append(plots.roc_plot(out / "roc.png", report.roc.fpr, report.roc.tpr, _value(report, "auc"),
                                      point, title=f"ROC - {report.model}"))
    if report.froc is not None:
        point = None
        fp, ls = _value(report, "fp_per_scan"), _value(report, "lesion_sensitivity")
        if fp is not None and ls is not None:
            point = (fp, ls)
        written.append(plots.froc_plot(out / "froc.png", report.froc.fp_per_scan, report.froc.sensitivity,
                                       _value(report, "froc_cpm"), point, title=f"FROC - {report.model}"))
    return written
