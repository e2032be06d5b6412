"""Whole-scan mode of ``radsight validate`` for the nodule model (the crop mode is
:mod:`ai.validation.nodule_crops`; reports name their ``mode`` so the two cannot be confused).

Data: a folder of full CT series with LIDC annotations (:func:`ai.datasets.lidc_scans.find_lidc_scans`:
``<scan>/series/`` + the original LIDC XML or a pylidc export). Each series is read by the caller's
reader (``radsight validate`` passes the product's own) and goes through
:func:`ai.analysis.run_pipeline`, exactly as ``radsight analyze`` runs it.

Counting (LUNA16 protocol):

- reference: nodules ≥ 3 mm marked by at least ``min_readers`` readers (readers' marks clustered as in
  :mod:`ai.datasets.lidc_xml`); a mark **hits** a nodule when its centre lies within the nodule's radius
  (half the readers' mean diameter) of the nodule's centre;
- a mark hitting no reference nodule but an irrelevant finding (< 3 mm nodule, non-nodule, nodule of
  fewer readers; :meth:`ScanTruth.ignorable`) is neither hit nor false; every other mark is false;
- several marks on one nodule count once (its best score);
- FROC: sensitivity at 1/8 … 8 false marks per scan over the listed findings (the pipeline's marks and
  the highest-scoring candidates below the threshold; candidates below those count as never marked);
  ``froc_cpm`` is their mean. ``lesion_sensitivity`` and ``fp_per_scan`` are at the operating point.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ai.datasets.lidc_scans import LidcScan, ScanTruth, truth_for
from ai.datasets.lidc_xml import SliceGeometry
from ai.image import ImageInput
from ai.validation.metrics import (
    CPM_FP_RATES,
    ScanOutcome,
    centre_hits,
    cpm,
    fp_per_scan,
    froc_curve,
    lesion_sensitivity,
    scan_outcome,
)

HIT_RULE = "mark centre within the nodule's radius (half the readers' mean longest in-plane diameter)"
SeriesReader = Callable[[Path], ImageInput]


@dataclass(frozen=True)
class ScanMarks:
    """What the model listed on one scan: mark centres (LPS mm) and scores, and the scan's truth."""

    name: str
    centres_mm: np.ndarray
    scores: np.ndarray
    truth: ScanTruth
    seconds: float = 0.0


class ScanGeometryError(ValueError):
    """The series is not an axial scan whose LIDC contours can be placed (one-line reason)."""


def geometry_of(image: ImageInput) -> SliceGeometry:
    """LIDC contour geometry of an axial series (pixel (0, 0) and the in-plane spacing)."""
    if not image.has_geometry or not np.allclose(np.abs(np.asarray(image.direction)), np.eye(3), atol=1e-3):
        raise ScanGeometryError("whole-scan validation needs an axial CT series with its geometry")
    origin = np.asarray(image.index_to_patient((0, 0, 0)), float)
    spacing_xy = (float(image.spacing[2]), float(image.spacing[1]))
    return SliceGeometry((float(origin[0]), float(origin[1])), spacing_xy)


def outcome(marks: ScanMarks, min_readers: int) -> ScanOutcome:
    """Hits and false marks of one scan at the given reader-agreement level (see the module notes)."""
    reference = marks.truth.reference(min_readers)
    centres = np.asarray([n.centre_mm for n in reference]).reshape(-1, 3)
    hits = centre_hits(marks.centres_mm, centres, [n.radius_mm for n in reference])
    ignore_c, ignore_r = marks.truth.ignorable(min_readers)
    ignored = centre_hits(marks.centres_mm, ignore_c, ignore_r).any(axis=1) & ~hits.any(axis=1)
    return scan_outcome(marks.scores[~ignored], hits[~ignored])


def scan_metrics(scans: list[ScanMarks], threshold: float, min_readers: int) -> dict[str, Any]:
    """FROC, CPM, sensitivity and false marks per scan at the operating point, per-scan details."""
    outcomes = [outcome(s, min_readers) for s in scans]
    curve = froc_curve(outcomes)
    froc = {f"sensitivity_at_{r:g}_fp": float(np.interp(r, curve.fp_per_scan, curve.sensitivity))
            for r in CPM_FP_RATES}
    per_scan = [_scan_detail(s, o, threshold) for s, o in zip(scans, outcomes, strict=True)]
    return {"froc_cpm": cpm(curve), "lesion_sensitivity": lesion_sensitivity(outcomes, threshold),
            "fp_per_scan": fp_per_scan(outcomes, threshold), "froc": froc,
            "n_scans": len(scans), "n_nodules": int(sum(len(o.lesion_scores) for o in outcomes)),
            "per_scan": per_scan}


def _scan_detail(scan: ScanMarks, result: ScanOutcome, threshold: float) -> dict[str, Any]:
    ranks = np.sort(scan.scores)[::-1]
    nodules = [{"score": None if not np.isfinite(s) else round(float(s), 4),
                "rank": None if not np.isfinite(s) else int(np.sum(ranks > s)) + 1,
                "marked": bool(s >= threshold)} for s in result.lesion_scores]
    return {"scan": scan.name, "nodules": nodules, "false_marks": int(np.sum(result.fp_scores >= threshold)),
            "listed": int(len(scan.scores)), "seconds": round(scan.seconds, 1)}


def marks_of(scan: LidcScan, image: ImageInput, findings: list, seconds: float) -> ScanMarks:
    """A scan's listed nodule findings as :class:`ScanMarks`, with its truth placed on its geometry."""
    centres = np.asarray([f.center_mm for f in findings if f.center_mm is not None], float).reshape(-1, 3)
    scores = np.asarray([f.score for f in findings if f.center_mm is not None], float)
    return ScanMarks(scan.name, centres, scores, truth_for(scan, geometry_of(image)), seconds)


def report(scans: list[ScanMarks], threshold: float, model: str, version: str) -> dict[str, Any]:
    """The whole-scan ``metrics.json``: at ≥ 2 readers (the headline) and at ≥ 1 reader."""
    return {"mode": "scan", "model": model, "version": version, "threshold": threshold,
            "hit_rule": HIT_RULE, "reader_agreement": ">= 2 readers (headline); >= 1 reader below",
            "fp_rates": list(CPM_FP_RATES),
            "metrics": scan_metrics(scans, threshold, 2),
            "metrics_ge1_reader": scan_metrics(scans, threshold, 1),
            "disclaimer": "not for diagnostic use"}
