"""Validation metrics in plain numpy: classification, detection (FROC/CPM), localisation, segmentation.

Conventions
- A case is called positive when its score is ``>= threshold``.
- Undefined ratios (e.g. sensitivity with no positive case) are ``nan``, never a made-up number.
- Boxes are ``(lo..., hi...)`` in the "xy" order the readers use: 2D ``(x0, y0, x1, y1)`` with x the
  column (last array axis) and y the row; 3D ``(x0, y0, z0, x1, y1, z1)`` with z the first axis. Box
  coordinates are pixel *edges* (pixel ``i`` spans ``[i, i + 1)``), so pixel ``i``'s centre is ``i + 0.5``.
- Segmentation distances are in mm when ``spacing`` (array axis order) is given, else in voxels.

The definitions follow monai.metrics (ROC AUC, FROC as in the CAMELYON/LUNA16 evaluation, Dice with
``ignore_empty=False``, percentile Hausdorff on mask edges); the tests cross-check them against it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

CPM_FP_RATES: tuple[float, ...] = (0.125, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0)


# --------------------------------------------------------------------------------------------------
# Classification


def _ratio(num: float, den: float) -> float:
    return float(num) / float(den) if den else float("nan")


@dataclass(frozen=True)
class Confusion:
    """Counts of a binary decision against the truth, with the usual ratios."""

    tp: int
    fp: int
    tn: int
    fn: int

    @property
    def sensitivity(self) -> float:
        """TP / (TP + FN): recall, true-positive rate."""
        return _ratio(self.tp, self.tp + self.fn)

    @property
    def specificity(self) -> float:
        """TN / (TN + FP): true-negative rate."""
        return _ratio(self.tn, self.tn + self.fp)

    @property
    def ppv(self) -> float:
        """TP / (TP + FP): precision, positive predictive value."""
        return _ratio(self.tp, self.tp + self.fp)

    @property
    def npv(self) -> float:
        """TN / (TN + FN): negative predictive value."""
        return _ratio(self.tn, self.tn + self.fn)

    @property
    def f1(self) -> float:
        """2 TP / (2 TP + FP + FN): harmonic mean of sensitivity and PPV."""
        return _ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn)

    @property
    def accuracy(self) -> float:
        """(TP + TN) / all."""
        return _ratio(self.tp + self.tn, self.tp + self.tn + self.fp + self.fn)

    def as_dict(self) -> dict[str, float]:
        """The ratios under the key names used in ``metrics.json``."""
        return {
            "sensitivity": self.sensitivity,
            "specificity": self.specificity,
            "ppv": self.ppv,
            "f1": self.f1,
            "accuracy": self.accuracy,
        }


def confusion(y_true: Sequence[int] | np.ndarray, y_pred: Sequence[int] | np.ndarray) -> Confusion:
    """Confusion counts of binary predictions (truthy = positive) against binary truth."""
    truth = np.asarray(y_true).astype(bool).ravel()
    pred = np.asarray(y_pred).astype(bool).ravel()
    if truth.shape != pred.shape:
        raise ValueError(f"y_true and y_pred differ in length: {truth.size} vs {pred.size}")
    return Confusion(
        tp=int(np.sum(truth & pred)),
        fp=int(np.sum(~truth & pred)),
        tn=int(np.sum(~truth & ~pred)),
        fn=int(np.sum(truth & ~pred)),
    )


def confusion_at(y_true: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray,
                 threshold: float) -> Confusion:
    """Confusion counts when cases with ``score >= threshold`` are called positive."""
    return confusion(y_true, np.asarray(scores, dtype=float) >= threshold)


def sensitivity(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """TP / (TP + FN) of binary predictions."""
    return confusion(y_true, y_pred).sensitivity


def specificity(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """TN / (TN + FP) of binary predictions."""
    return confusion(y_true, y_pred).specificity


def ppv(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """TP / (TP + FP) of binary predictions."""
    return confusion(y_true, y_pred).ppv


def f1_score(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """2 TP / (2 TP + FP + FN) of binary predictions."""
    return confusion(y_true, y_pred).f1


def accuracy(y_true: Sequence | np.ndarray, y_pred: Sequence | np.ndarray) -> float:
    """Fraction of cases whose predicted label equals the true one (any number of classes)."""
    truth, pred = np.asarray(y_true).ravel(), np.asarray(y_pred).ravel()
    if truth.shape != pred.shape:
        raise ValueError(f"y_true and y_pred differ in length: {truth.size} vs {pred.size}")
    return _ratio(np.sum(truth == pred), truth.size)


@dataclass(frozen=True)
class RocCurve:
    """ROC points for decreasing thresholds; the first point is (0, 0) at threshold +inf."""

    fpr: np.ndarray
    tpr: np.ndarray
    thresholds: np.ndarray


def roc_curve(y_true: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray) -> RocCurve:
    """ROC curve with one point per distinct score (positive when ``score >= threshold``)."""
    truth = np.asarray(y_true).astype(bool).ravel()
    score = np.asarray(scores, dtype=float).ravel()
    order = np.argsort(-score, kind="stable")
    score, truth = score[order], truth[order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(score)), score.size - 1] if score.size else np.array([], int)
    tps = np.cumsum(truth)[last_of_tie]
    fps = np.cumsum(~truth)[last_of_tie]
    n_pos, n_neg = int(truth.sum()), int((~truth).sum())
    tpr = np.r_[0.0, tps / n_pos] if n_pos else np.full(tps.size + 1, np.nan)
    fpr = np.r_[0.0, fps / n_neg] if n_neg else np.full(fps.size + 1, np.nan)
    return RocCurve(fpr=fpr, tpr=tpr, thresholds=np.r_[np.inf, score[last_of_tie]])


def roc_auc(y_true: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray) -> float:
    """Area under the ROC curve (trapezoids; a tied positive/negative pair counts one half).

    ``nan`` when the truth holds only one class.
    """
    curve = roc_curve(y_true, scores)
    if np.isnan(curve.tpr).any() or np.isnan(curve.fpr).any():
        return float("nan")
    return float(np.trapezoid(curve.tpr, curve.fpr))


def threshold_for_sensitivity(y_true: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray,
                              target: float) -> float:
    """The highest threshold whose sensitivity is ``>= target`` (so specificity is as high as it can be).

    ``nan`` when there is no positive case.
    """
    curve = roc_curve(y_true, scores)
    reached = np.flatnonzero(curve.tpr >= target - 1e-12)
    return float(curve.thresholds[reached[0]]) if reached.size else float("nan")


# --------------------------------------------------------------------------------------------------
# Detection: hit criteria, FROC, CPM


def _rows(values: Sequence | np.ndarray) -> np.ndarray:
    """An (N, k) float array from a sequence of equal-length rows (``(0, 0)`` when empty)."""
    arr = np.asarray(values, dtype=float)
    if arr.ndim == 2:
        return arr
    return arr.reshape(0, 0) if arr.size == 0 else arr.reshape(len(arr), -1)


def centre_hits(det_centres: np.ndarray, lesion_centres: np.ndarray, lesion_radii: np.ndarray) -> np.ndarray:
    """(D, L) bool: detection d hits lesion l when their centres are at most lesion l's radius apart.

    Centres are (N, ndim) in one unit (mm, or pixels); radii (L,) in the same unit.
    """
    det, les = _rows(det_centres), _rows(lesion_centres)
    radii = np.asarray(lesion_radii, dtype=float).ravel()
    if det.size == 0 or les.size == 0:
        return np.zeros((det.shape[0], les.shape[0]), dtype=bool)
    dist = np.linalg.norm(det[:, None, :] - les[None, :, :], axis=-1)
    return dist <= radii[None, :]


def box_iou(boxes_a: np.ndarray, boxes_b: np.ndarray) -> np.ndarray:
    """(A, B) intersection over union of ``(lo..., hi...)`` boxes (any dimension)."""
    a, b = _rows(boxes_a), _rows(boxes_b)
    if a.size == 0 or b.size == 0:
        return np.zeros((a.shape[0], b.shape[0]))
    n = a.shape[1] // 2
    lo = np.maximum(a[:, None, :n], b[None, :, :n])
    hi = np.minimum(a[:, None, n:], b[None, :, n:])
    inter = np.prod(np.clip(hi - lo, 0, None), axis=-1)
    vol_a = np.prod(np.clip(a[:, n:] - a[:, :n], 0, None), axis=-1)
    vol_b = np.prod(np.clip(b[:, n:] - b[:, :n], 0, None), axis=-1)
    union = vol_a[:, None] + vol_b[None, :] - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, inter / union, 0.0)


def iou_hits(det_boxes: np.ndarray, lesion_boxes: np.ndarray, min_iou: float = 0.5) -> np.ndarray:
    """(D, L) bool: detection d hits lesion l when their boxes overlap with IoU ``>= min_iou``."""
    return box_iou(det_boxes, lesion_boxes) >= min_iou


@dataclass(frozen=True)
class ScanOutcome:
    """What the detections in one scan (or image) did.

    - ``lesion_scores`` (L,): per true lesion, the highest score of a detection hitting it (``-inf``: missed).
    - ``fp_scores`` (F,): scores of the detections that hit no lesion.
    Detections hitting an already-hit lesion count neither as a hit nor as a false positive (LUNA16).
    """

    lesion_scores: np.ndarray
    fp_scores: np.ndarray


def scan_outcome(scores: Sequence[float] | np.ndarray, hits: np.ndarray) -> ScanOutcome:
    """Score each lesion by its best hitting detection; detections hitting nothing are false positives."""
    score = np.asarray(scores, dtype=float).ravel()
    hit = np.asarray(hits, dtype=bool).reshape(score.size, -1)
    masked = np.where(hit, score[:, None], -np.inf)
    lesion_scores = masked.max(axis=0) if score.size else np.full(hit.shape[1], -np.inf)
    return ScanOutcome(lesion_scores=lesion_scores, fp_scores=score[~hit.any(axis=1)])


@dataclass(frozen=True)
class FrocCurve:
    """FROC points for decreasing thresholds, starting at (0 FP, 0 sensitivity) for threshold +inf."""

    fp_per_scan: np.ndarray
    sensitivity: np.ndarray
    thresholds: np.ndarray


def _pooled(outcomes: Sequence[ScanOutcome]) -> tuple[np.ndarray, np.ndarray]:
    lesions = np.concatenate([o.lesion_scores for o in outcomes]) if outcomes else np.zeros(0)
    fps = np.concatenate([o.fp_scores for o in outcomes]) if outcomes else np.zeros(0)
    return lesions.astype(float), fps.astype(float)


def _count_at_least(values: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """For each threshold, how many values are ``>= threshold``."""
    ordered = np.sort(values)
    return ordered.size - np.searchsorted(ordered, thresholds, side="left")


def froc_curve(outcomes: Sequence[ScanOutcome]) -> FrocCurve:
    """Sensitivity over all lesions vs mean false positives per scan, one point per distinct score."""
    lesions, fps = _pooled(outcomes)
    scores = np.concatenate([lesions[np.isfinite(lesions)], fps])
    thresholds = np.r_[np.inf, np.unique(scores)[::-1]]
    fp_rate = _count_at_least(fps, thresholds) / max(len(outcomes), 1)
    if lesions.size:
        sens = _count_at_least(lesions, thresholds) / lesions.size
    else:
        sens = np.full(thresholds.size, np.nan)
    return FrocCurve(fp_per_scan=fp_rate, sensitivity=sens, thresholds=thresholds)


def cpm(curve: FrocCurve, fp_rates: Sequence[float] = CPM_FP_RATES) -> float:
    """Competition performance metric: mean sensitivity interpolated at the given FP-per-scan rates.

    Beyond the last FP rate the curve reaches, its final sensitivity is used (as LUNA16/monai do).
    """
    return float(np.mean(np.interp(fp_rates, curve.fp_per_scan, curve.sensitivity)))


def lesion_sensitivity(outcomes: Sequence[ScanOutcome], threshold: float) -> float:
    """Fraction of all lesions hit by a detection scoring ``>= threshold``."""
    lesions, _ = _pooled(outcomes)
    return _ratio(np.sum(lesions >= threshold), lesions.size)


def fp_per_scan(outcomes: Sequence[ScanOutcome], threshold: float) -> float:
    """Mean number of false-positive detections scoring ``>= threshold`` per scan (or image)."""
    _, fps = _pooled(outcomes)
    return _ratio(np.sum(fps >= threshold), len(outcomes))


# --------------------------------------------------------------------------------------------------
# Localisation


def boxes_recalled(pred_boxes: np.ndarray, gt_boxes: np.ndarray, min_iou: float = 0.5) -> np.ndarray:
    """(G,) bool: which ground-truth boxes some predicted box overlaps with IoU ``>= min_iou``."""
    return iou_hits(pred_boxes, gt_boxes, min_iou).any(axis=0)


def iou_recall(pred_boxes_per_case: Sequence[np.ndarray], gt_boxes_per_case: Sequence[np.ndarray],
               min_iou: float = 0.5) -> float:
    """Fraction of all ground-truth boxes recalled at IoU ``>= min_iou`` (``iou50_recall`` at 0.5)."""
    pairs = zip(pred_boxes_per_case, gt_boxes_per_case, strict=True)
    hits = [boxes_recalled(pred, gt, min_iou) for pred, gt in pairs]
    flat = np.concatenate(hits) if hits else np.zeros(0, bool)
    return _ratio(flat.sum(), flat.size)


def peak_in_boxes(heatmap: np.ndarray, boxes: np.ndarray) -> bool:
    """Whether the heat map's maximum (first one on ties) has its pixel centre inside any box.

    ``boxes`` are ``(lo..., hi...)`` in xy order (see module notes); the map is indexed ``[..., y, x]``.
    """
    index = np.unravel_index(int(np.argmax(heatmap)), heatmap.shape)
    centre = np.asarray(index[::-1], dtype=float) + 0.5  # xy(z) order
    arr = _rows(boxes)
    if arr.size == 0:
        return False
    n = arr.shape[1] // 2
    if n != centre.size:
        raise ValueError(f"{n}-D boxes for a {centre.size}-D heat map")
    return bool(np.any(np.all((arr[:, :n] <= centre) & (centre <= arr[:, n:]), axis=1)))


def peak_in_box_rate(heatmaps: Sequence[np.ndarray], boxes_per_case: Sequence[np.ndarray]) -> float:
    """``cam_in_box``: fraction of cases (with at least one box) whose map peak lies inside a box."""
    flags = [peak_in_boxes(h, b) for h, b in zip(heatmaps, boxes_per_case, strict=True) if len(b)]
    return _ratio(sum(flags), len(flags))


# --------------------------------------------------------------------------------------------------
# Segmentation


def dice(pred: np.ndarray, gt: np.ndarray) -> float:
    """2 |P ∩ G| / (|P| + |G|); 1.0 when both masks are empty (monai ``ignore_empty=False``)."""
    p, g = np.asarray(pred, dtype=bool), np.asarray(gt, dtype=bool)
    if p.shape != g.shape:
        raise ValueError(f"mask shapes differ: {p.shape} vs {g.shape}")
    total = int(p.sum() + g.sum())
    return 1.0 if total == 0 else 2.0 * int(np.sum(p & g)) / total


def mask_edges(mask: np.ndarray) -> np.ndarray:
    """Foreground voxels with a face neighbour in the background (outside the array counts as background)."""
    m = np.asarray(mask, dtype=bool)
    padded = np.pad(m, 1, constant_values=False)
    eroded = padded.copy()
    for axis in range(m.ndim):
        for shift in (1, -1):
            eroded &= np.roll(padded, shift, axis=axis)
    inner = tuple(slice(1, -1) for _ in range(m.ndim))
    return m & ~eroded[inner]


def _nearest_distances(src: np.ndarray, dst: np.ndarray, chunk: int = 2048) -> np.ndarray:
    """For each point of ``src`` (N, d), the Euclidean distance to the nearest point of ``dst`` (M, d)."""
    out = np.empty(len(src))
    for start in range(0, len(src), chunk):
        block = src[start:start + chunk]
        d2 = np.min(np.sum((block[:, None, :] - dst[None, :, :]) ** 2, axis=-1), axis=1)
        out[start:start + chunk] = np.sqrt(d2)
    return out


def surface_distances(pred: np.ndarray, gt: np.ndarray,
                      spacing: Sequence[float] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Distances pred-edge → nearest gt-edge and gt-edge → nearest pred-edge (mm with ``spacing``).

    Brute force over edge voxels (chunked): fine for lesion crops, slow for organ-sized masks.
    """
    p, g = np.asarray(pred, dtype=bool), np.asarray(gt, dtype=bool)
    scale = np.ones(p.ndim) if spacing is None else np.asarray(spacing, dtype=float)
    pts_p = np.argwhere(mask_edges(p)) * scale
    pts_g = np.argwhere(mask_edges(g)) * scale
    return _nearest_distances(pts_p, pts_g), _nearest_distances(pts_g, pts_p)


def hausdorff(pred: np.ndarray, gt: np.ndarray, spacing: Sequence[float] | None = None,
              percentile: float = 95.0) -> float:
    """Symmetric percentile Hausdorff distance between mask edges (``hd95`` by default).

    The larger of the two directed percentiles (linear interpolation, as ``torch.quantile``).
    ``nan`` when both masks are empty, ``inf`` when only one is.
    """
    p, g = np.asarray(pred, dtype=bool), np.asarray(gt, dtype=bool)
    if p.shape != g.shape:
        raise ValueError(f"mask shapes differ: {p.shape} vs {g.shape}")
    if not p.any() and not g.any():
        return float("nan")
    if not p.any() or not g.any():
        return float("inf")
    d_pg, d_gp = surface_distances(p, g, spacing)
    return float(max(np.percentile(d_pg, percentile), np.percentile(d_gp, percentile)))
