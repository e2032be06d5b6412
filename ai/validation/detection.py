"""Box-detection metrics over images: recall at IoU ≥ t with false boxes per image, and AP at IoU 0.5.

A predicted box is a true positive when it is the first (highest-scoring) match of a still-unmatched
annotated box at IoU ≥ t (greedy, as in PASCAL VOC / COCO); every other predicted box is false."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ai.validation.metrics import box_iou


def match(pred: np.ndarray, scores: np.ndarray, gt: np.ndarray, min_iou: float) -> np.ndarray:
    """(K,) bool: which predictions (any order) are true positives against ``gt`` (M, 4)."""
    tp = np.zeros(len(pred), bool)
    if len(pred) == 0 or len(gt) == 0:
        return tp
    iou = box_iou(np.asarray(pred, float), np.asarray(gt, float))
    taken = np.zeros(len(gt), bool)
    for k in np.argsort(-np.asarray(scores), kind="stable"):
        free = np.where(taken, -1.0, iou[k])
        j = int(np.argmax(free))
        if free[j] >= min_iou:
            taken[j], tp[k] = True, True
    return tp


def recall_and_fp(
    preds: Sequence[tuple[np.ndarray, np.ndarray]],
    gts: Sequence[np.ndarray],
    threshold: float,
    min_iou: float,
) -> tuple[float, float]:
    """(annotated boxes found / all annotated boxes, false boxes per image) for boxes scoring ≥ threshold."""
    found = false = total = 0
    for (boxes, scores), gt in zip(preds, gts, strict=True):
        keep = scores >= threshold
        tp = match(boxes[keep], scores[keep], gt, min_iou)
        found, false, total = found + int(tp.sum()), false + int((~tp).sum()), total + len(gt)
    return (found / total if total else float("nan")), false / max(len(gts), 1)


def average_precision(
    preds: Sequence[tuple[np.ndarray, np.ndarray]], gts: Sequence[np.ndarray], min_iou: float = 0.5
) -> float:
    """All-point interpolated AP (VOC 2010+/COCO style at one IoU) pooled over images."""
    total = sum(len(g) for g in gts)
    if total == 0:
        return float("nan")
    scores, hits = [], []
    for (boxes, s), gt in zip(preds, gts, strict=True):
        scores.append(np.asarray(s, float))
        hits.append(match(boxes, s, gt, min_iou))
    return pooled_ap(np.concatenate(scores), np.concatenate(hits), total)


def threshold_for_fp(preds: Sequence[tuple[np.ndarray, np.ndarray]], gts: Sequence[np.ndarray],
                     max_fp_per_image: float, min_iou: float) -> float:
    """Lowest box-score threshold whose false boxes per image stay ≤ ``max_fp_per_image``.

    Greedy matching takes boxes best first, so a box's match does not depend on boxes scoring below
    it: the matches of all boxes, computed once, hold at every threshold."""
    scores = np.concatenate([np.asarray(s, float) for _, s in preds] + [np.zeros(0)])
    false = np.concatenate([~match(b, s, g, min_iou) for (b, s), g in zip(preds, gts, strict=True)]
                           + [np.zeros(0, bool)])
    candidates = np.unique(np.concatenate([scores, [1.0]]))
    false_scores = np.sort(scores[false])
    false_count = len(false_scores) - np.searchsorted(false_scores, candidates, side="left")
    per_image = false_count / max(len(gts), 1)
    within = candidates[per_image <= max_fp_per_image]
    return float(within.min()) if len(within) else 1.0


DETECTION_DEFINITIONS = {
    "iou30_recall": "annotated boxes matched by a candidate box scoring >= the box threshold at IoU >= 0.3 "
    "(greedy, best score first) / all annotated boxes",
    "fp_boxes_per_image": "candidate boxes scoring >= the box threshold that match no annotated box at IoU "
    ">= 0.3, per image (all images, with and without fractures)",
    "ap50": "box average precision at IoU 0.5 (all-point interpolation, pooled over images) over every "
    "candidate box the pipeline reports (its score floor and per-image cap apply)",
    "not_scored_rate": "cases the out-of-distribution guard refused to score / all cases",
}


def candidate_statistics(
    cases: Sequence, box_threshold: float | None
) -> dict[str, Callable[[np.ndarray], float]]:
    """Statistics of an index array into ``cases`` for cases carrying scored candidate boxes."""
    mask = np.array([c.cand_scores is not None for c in cases])
    if not mask.any():
        return {}
    t = -np.inf if box_threshold is None else box_threshold

    def pooled(i: np.ndarray) -> list:
        return [cases[k] for k in i[mask[i]]]

    def recall30(i: np.ndarray) -> float:
        chosen = pooled(i)
        total = sum(c.boxes_total for c in chosen)
        found = sum(int((c.cand_tp30 & (c.cand_scores >= t)).sum()) for c in chosen)
        return found / total if total else float("nan")

    def fp(i: np.ndarray) -> float:
        chosen = pooled(i)
        false = sum(int((~c.cand_tp30 & (c.cand_scores >= t)).sum()) for c in chosen)
        return false / len(chosen) if chosen else float("nan")

    def ap50(i: np.ndarray) -> float:
        chosen = pooled(i)
        total = sum(c.boxes_total for c in chosen)
        if not total:
            return float("nan")
        scores = np.concatenate([c.cand_scores for c in chosen])
        hits = np.concatenate([c.cand_tp50 for c in chosen])
        return pooled_ap(scores, hits, total)

    return {"iou30_recall": recall30, "fp_boxes_per_image": fp, "ap50": ap50}


def pooled_ap(scores: np.ndarray, hits: np.ndarray, total: int) -> float:
    """All-point interpolated AP from detections' scores, their true-positive flags and the box count."""
    order = np.argsort(-scores, kind="stable")
    tp = hits[order].astype(float)
    if not len(tp):
        return 0.0
    recall = np.cumsum(tp) / total
    precision = np.cumsum(tp) / np.arange(1, len(tp) + 1)
    envelope = np.maximum.accumulate(precision[::-1])[::-1]
    return float((np.diff(np.concatenate([[0.0], recall])) * envelope).sum())


def not_scored_statistic(cases: Sequence) -> dict[str, Callable[[np.ndarray], float]]:
    """``not_scored_rate`` where any case was refused (absent otherwise)."""
    refused = np.array([bool(getattr(c, "not_scored", False)) for c in cases])
    if not refused.any():
        return {}
    return {"not_scored_rate": lambda i: float(refused[i].mean()) if i.size else float("nan")}
