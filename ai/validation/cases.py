"""`CaseResult`: one labelled case with what the model said about it — the unit every metric reads.

Fill only what applies; the report computes each metric from the cases that carry its fields:

==================  =====================================  ============================================
metric keys         needs                                  meaning
==================  =====================================  ============================================
sensitivity, ...    ``positive`` + ``score``               binary truth, model's positive-class score
auc                 ``positive`` + ``score``, or
                    ``truth`` + ``probabilities``          (multi-class: macro one-vs-rest AUC)
accuracy            the above, or ``truth`` + ``predicted``  (multi-class: predicted == true class)
iou50_recall        ``gt_boxes`` + ``pred_boxes``          ground-truth boxes hit at IoU >= 0.5
iou30_recall, ap50  ``cand_boxes`` + ``cand_scores``       scored candidate boxes (detectors), matched
fp_boxes_per_image                                         greedily at IoU 0.3 / 0.5 (see detection.py)
not_scored_rate     ``not_scored``                         cases the OOD guard refused
cam_in_box          ``gt_boxes`` + ``heatmap``             map peak inside a ground-truth box
lesion_sensitivity  ``outcome``                            FROC outcome of the case's detections
fp_per_scan, froc_cpm
dice, hd95          ``gt_mask`` + ``pred_mask`` (+ ``spacing`` for mm)
==================  =====================================  ============================================

Boxes follow :mod:`ai.validation.metrics`: ``(x0, y0, x1, y1)`` pixel edges (3D: ``x0, y0, z0, x1, y1, z1``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ai.validation.metrics import ScanOutcome, boxes_recalled, dice, hausdorff, peak_in_boxes


def _no_boxes() -> np.ndarray:
    return np.zeros((0, 4))


@dataclass(frozen=True)
class CaseResult:
    """Truth and prediction for one case (image, slice or crop).

    - ``subgroups``: breakdown labels (e.g. body regions; a case may be in several).
    - ``group``: resampling unit for the bootstrap (patient, scan); ``None``: the case is its own unit.
    - ``heatmap_missing``: the model explains its answers but gave no map for this case; a case with
      boxes then counts as a miss for ``cam_in_box`` (rather than silently leaving the denominator).
    """

    id: str
    truth: str
    subgroups: tuple[str, ...] = ()
    group: str | None = None
    positive: bool | None = None
    score: float | None = None
    predicted: str | None = None
    probabilities: dict[str, float] | None = None
    gt_boxes: np.ndarray = field(default_factory=_no_boxes)
    pred_boxes: np.ndarray | None = None
    heatmap: np.ndarray | None = field(default=None, repr=False)
    heatmap_missing: bool = False
    outcome: ScanOutcome | None = None
    gt_mask: np.ndarray | None = field(default=None, repr=False)
    pred_mask: np.ndarray | None = field(default=None, repr=False)
    spacing: tuple[float, ...] | None = None
    cand_boxes: np.ndarray | None = None
    cand_scores: np.ndarray | None = None
    not_scored: bool = False


@dataclass(frozen=True)
class CaseScore:
    """A :class:`CaseResult` reduced to the numbers the metrics need (no images kept in memory).

    ``boxes_hit`` / ``cam_hit`` / ``dice`` / ``hd95`` are ``None`` where the case does not carry
    what they need; ``hd95`` is ``inf`` where exactly one of the masks is empty.
    """

    id: str
    truth: str
    subgroups: tuple[str, ...] = ()
    group: str | None = None
    positive: bool | None = None
    score: float | None = None
    predicted: str | None = None
    probabilities: dict[str, float] | None = None
    boxes_total: int = 0
    boxes_hit: int | None = None
    cam_hit: bool | None = None
    outcome: ScanOutcome | None = None
    dice: float | None = None
    hd95: float | None = None
    cand_scores: np.ndarray | None = None
    cand_tp30: np.ndarray | None = None
    cand_tp50: np.ndarray | None = None
    not_scored: bool = False


def score_case(case: CaseResult, min_iou: float = 0.5) -> CaseScore:
    """Reduce one case: boxes recalled, map peak in a box, Dice and HD95."""
    has_boxes = len(case.gt_boxes) > 0
    boxes_hit = None
    if has_boxes and case.pred_boxes is not None:
        boxes_hit = int(boxes_recalled(case.pred_boxes, case.gt_boxes, min_iou).sum())
    cam_hit = None
    if has_boxes and case.heatmap is not None:
        cam_hit = peak_in_boxes(case.heatmap, case.gt_boxes)
    elif has_boxes and case.heatmap_missing:
        cam_hit = False
    dice_value = hd_value = None
    if case.gt_mask is not None and case.pred_mask is not None:
        dice_value = dice(case.pred_mask, case.gt_mask)
        hd_value = hausdorff(case.pred_mask, case.gt_mask, case.spacing, percentile=95.0)
    candidates = {}
    if case.cand_boxes is not None and case.cand_scores is not None:
        from ai.validation.detection import match

        scores = np.asarray(case.cand_scores, float)
        candidates = {"cand_scores": scores,
                      "cand_tp30": match(case.cand_boxes, scores, case.gt_boxes, 0.3),
                      "cand_tp50": match(case.cand_boxes, scores, case.gt_boxes, 0.5)}
    return CaseScore(
        id=case.id, truth=case.truth, subgroups=case.subgroups, group=case.group, positive=case.positive,
        score=case.score, predicted=case.predicted, probabilities=case.probabilities,
        boxes_total=len(case.gt_boxes), boxes_hit=boxes_hit, cam_hit=cam_hit, outcome=case.outcome,
        dice=dice_value, hd95=hd_value, not_scored=case.not_scored, **candidates,
    )
