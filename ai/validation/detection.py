"""Box-detection metrics over images: recall at IoU ≥ t with false boxes per image, and AP at IoU 0.5.

A predicted box is a true positive when it is the first (highest-scoring) match of a still-unmatched
annotated box at IoU ≥ t (greedy, as in PASCAL VOC / COCO); every other predicted box is false."""

from __future__ import annotations

from collections.abc import Sequence

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


def recall_and_fp(preds: Sequence[tuple[np.ndarray, np.ndarray]], gts: Sequence[np.ndarray],
                  threshold: float, min_iou: float) -> tuple[float, float]:
    """(annotated boxes found / all annotated boxes, false boxes per image) for boxes scoring ≥ threshold."""
    found = false = total = 0
    for (boxes, scores), gt in zip(preds, gts, strict=True):
        keep = scores >= threshold
        tp = match(boxes[keep], scores[keep], gt, min_iou)
        found, false, total = found + int(tp.sum()), false + int((~tp).sum()), total + len(gt)
    return (found / total if total else float("nan")), false / max(len(gts), 1)


def average_precision(preds: Sequence[tuple[np.ndarray, np.ndarray]], gts: Sequence[np.ndarray],
                      min_iou: float = 0.5) -> float:
    """All-point interpolated AP (VOC 2010+/COCO style at one IoU) pooled over images."""
    total = sum(len(g) for g in gts)
    if total == 0:
        return float("nan")
    scores, hits = [], []
    for (boxes, s), gt in zip(preds, gts, strict=True):
        scores.append(np.asarray(s, float))
        hits.append(match(boxes, s, gt, min_iou))
    order = np.argsort(-np.concatenate(scores), kind="stable")
    tp = np.concatenate(hits)[order]
    recall = np.cumsum(tp) / total
    precision = np.cumsum(tp) / np.arange(1, len(tp) + 1)
    envelope = np.maximum.accumulate(precision[::-1])[::-1] if len(tp) else precision
    steps = np.diff(np.concatenate([[0.0], recall]))
    return float((steps * envelope).sum())


def threshold_for_fp(preds: Sequence[tuple[np.ndarray, np.ndarray]], gts: Sequence[np.ndarray],
                     max_fp_per_image: float, min_iou: float) -> float:
    """Lowest box-score threshold whose false boxes per image stay ≤ ``max_fp_per_image``."""
    candidates = np.unique(np.concatenate([s for _, s in preds] + [np.array([1.0])]))
    for t in candidates:  # ascending: the first that satisfies the bound has the most recall
        if recall_and_fp(preds, gts, float(t), min_iou)[1] <= max_fp_per_image:
            return float(t)
    return 1.0
