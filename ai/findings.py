"""The `Finding` record, duplicate suppression, and findings as JSON.

Conventions:

* ``box_kji`` = ``(k0, j0, i0, k1, j1, i1)``, voxel index ranges with the start included and the
  stop excluded, like numpy slices (``voxels[k0:k1, j0:j1, i0:i1]``); may be fractional.
* ``center_kji`` is a voxel index (fractional), ``center_mm`` the same point in LPS mm,
  ``size_mm`` the box extent ``(dk, dj, di)`` in mm (pixels without geometry).
* ``mask`` (bool, same shape as the box's integer crop) travels in JSON as run lengths.
* ``explanation`` names the finding's own explanation map (a file name or a key of the analysis'
  maps); ``explanation_map`` the file with that map's numbers where one was written;
  ``explanation_peak_kji`` / ``explanation_peak_mm`` locate that map's maximum (voxel index; LPS
  (x, y, z) mm - for an image without geometry its pixel position (column, row, slice) instead).
* ``passes_operating_point``: score ≥ ``threshold`` (the operating point chosen on validation).
  ``hidden_by`` names the model's other marking rule (``model.json`` ``mark_rules``, e.g.
  ``per_scan_cap``) that keeps a passing finding unmarked; :attr:`Finding.marked` is both together.
* ``measurements`` holds named sizes a pipeline measured (e.g. ``volume_mm3``, ``long_axis_mm``,
  ``short_axis_mm``), each in the unit its name ends with.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ai.image import ImageInput
from ai.package import DISCLAIMER

Box = tuple[float, float, float, float, float, float]
Point = tuple[float, float, float]


@dataclass(frozen=True)
class Finding:
    """One thing a model reports, where it is, and how sure it is."""

    model: str
    model_version: str
    label: str
    score: float
    passes_operating_point: bool
    threshold: float | None = None
    center_kji: Point | None = None
    center_mm: Point | None = None
    size_mm: Point | None = None
    box_kji: Box | None = None
    mask: np.ndarray | None = field(default=None, repr=False, compare=False)
    explanation: str | None = None
    explanation_method: str = ""
    explanation_map: str | None = None
    explanation_peak_kji: Point | None = None
    explanation_peak_mm: Point | None = None
    hidden_by: str | None = None
    merged: int = 1
    measurements: dict[str, float] = field(default_factory=dict, compare=False)
    series_instance_uid: str = ""
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])

    @property
    def marked(self) -> bool:
        """Shown as a mark: score ≥ threshold and no other marking rule hid it."""
        return self.passes_operating_point and not self.hidden_by

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (the mask as run lengths over its flattened C-order array)."""
        data = {k: getattr(self, k) for k in _FIELDS if k != "mask"}
        data = {k: list(v) if isinstance(v, tuple) else v for k, v in data.items()}
        data["score"] = float(self.score)
        data["mask"] = None if self.mask is None else {
            "shape": list(self.mask.shape), "rle": rle_encode(self.mask)}
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        values = {k: v for k, v in data.items() if k in _FIELDS}
        for key in ("center_kji", "center_mm", "size_mm", "box_kji", "explanation_peak_kji",
                    "explanation_peak_mm"):
            if values.get(key) is not None:
                values[key] = tuple(float(x) for x in values[key])
        mask = values.get("mask")
        values["mask"] = None if mask is None else rle_decode(mask["rle"], mask["shape"])
        return cls(**values)


_FIELDS = tuple(Finding.__dataclass_fields__)


# --- geometry ---------------------------------------------------------------------------------
def box_geometry(image: ImageInput, box_kji: Sequence[float]) -> tuple[Point, Point | None, Point]:
    """Centre (voxel index), centre (LPS mm, None without geometry) and size of a box."""
    lo, hi = np.asarray(box_kji[:3], float), np.asarray(box_kji[3:], float)
    center = (lo + hi - 1.0) / 2.0
    size = (hi - lo) * np.asarray(image.spacing, float)
    mm = image.index_to_patient(center)
    return _point(center), None if mm is None else _point(mm), _point(size)


def _point(values: np.ndarray) -> Point:
    return (float(values[0]), float(values[1]), float(values[2]))


def located(finding: Finding, image: ImageInput, box_kji: Sequence[float]) -> Finding:
    """``finding`` with its box and the centre/size derived from it on ``image``'s grid."""
    center, mm, size = box_geometry(image, box_kji)
    box = tuple(float(b) for b in box_kji)
    return replace(finding, box_kji=box, center_kji=center, center_mm=mm, size_mm=size)


# --- duplicates ------------------------------------------------------------------------------
def box_iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two ``(k0, j0, i0, k1, j1, i1)`` boxes."""
    a_lo, a_hi, b_lo, b_hi = (np.asarray(x, float) for x in (a[:3], a[3:], b[:3], b[3:]))
    inter = np.prod(np.clip(np.minimum(a_hi, b_hi) - np.maximum(a_lo, b_lo), 0, None))
    union = np.prod(a_hi - a_lo) + np.prod(b_hi - b_lo) - inter
    return float(inter / union) if union > 0 else 0.0


def _distance(a: Finding, b: Finding) -> float | None:
    if a.center_mm is not None and b.center_mm is not None:
        return float(np.linalg.norm(np.subtract(a.center_mm, b.center_mm)))
    return None


def same_lesion(a: Finding, b: Finding, iou_threshold: float, distance_mm: float | None) -> bool:
    """Whether two findings of one label describe the same thing (box IoU or centre distance)."""
    if a.label != b.label:
        return False
    if a.box_kji is not None and b.box_kji is not None and box_iou(a.box_kji, b.box_kji) >= iou_threshold:
        return True
    distance = _distance(a, b)
    return distance_mm is not None and distance is not None and distance <= distance_mm


def merge_findings(findings: Iterable[Finding], iou_threshold: float = 0.3,
                   distance_mm: float | None = None, across_models: bool = False) -> list[Finding]:
    """Greedy duplicate suppression: the best-scoring finding of each group is kept, with
    ``merged`` counting how many it stands for. Findings of different models are only merged
    when ``across_models`` is True."""
    kept: list[Finding] = []
    for finding in sorted(findings, key=lambda f: f.score, reverse=True):
        for index, other in enumerate(kept):
            if not across_models and other.model != finding.model:
                continue
            if same_lesion(other, finding, iou_threshold, distance_mm):
                kept[index] = replace(other, merged=other.merged + finding.merged)
                break
        else:
            kept.append(finding)
    return kept


# --- run-length masks --------------------------------------------------------------------------
def rle_encode(mask: np.ndarray) -> list[int]:
    """Run lengths of a bool array flattened in C order, starting with a run of False."""
    flat = np.asarray(mask, dtype=bool).ravel()
    changes = np.flatnonzero(np.diff(flat.astype(np.int8))) + 1
    bounds = np.concatenate([[0], changes, [flat.size]])
    runs = np.diff(bounds).tolist()
    return ([0] + runs) if flat.size and flat[0] else runs


def rle_decode(runs: Sequence[int], shape: Sequence[int]) -> np.ndarray:
    """Inverse of :func:`rle_encode`."""
    values = np.arange(len(runs)) % 2 == 1
    return np.repeat(values, runs).reshape(tuple(shape))


# --- JSON ------------------------------------------------------------------------------------
def findings_to_json(findings: Iterable[Finding], **extra: Any) -> str:
    """A JSON document: the disclaimer, any ``extra`` top-level fields, then the findings."""
    document = {"disclaimer": DISCLAIMER, **extra, "findings": [f.to_dict() for f in findings]}
    return json.dumps(document, indent=2)


def findings_from_json(text: str) -> list[Finding]:
    """The findings of a document written by :func:`findings_to_json`."""
    return [Finding.from_dict(d) for d in json.loads(text)["findings"]]
