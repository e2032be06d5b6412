"""Boxes from a CenterNet-style detection map (numpy only): local maxima of the centre heat map, each
with its sub-cell offset and size, in pixels of the network's input grid."""

from __future__ import annotations

import numpy as np


def local_maxima(heat: np.ndarray, radius: int = 1) -> np.ndarray:
    """(h, w) bool: cells not smaller than any other cell within ``radius`` cells (a (2r+1)² max-pool NMS;
    radius 1: the 8 neighbours)."""
    r = radius
    padded = np.pad(heat, r, constant_values=-np.inf)
    h, w = heat.shape
    shifts = [(dy, dx) for dy in range(-r, r + 1) for dx in range(-r, r + 1) if dy or dx]
    neighbours = [padded[r + dy : r + dy + h, r + dx : r + dx + w] for dy, dx in shifts]
    return heat >= np.max(neighbours, axis=0)


def decode_centres(
    heat: np.ndarray,
    reg: np.ndarray,
    stride: int,
    top_k: int = 20,
    min_score: float = 0.01,
    nms_iou: float | None = None,
    peak_radius: int = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """``heat`` (h, w) centre probabilities, ``reg`` (4, h, w): offset x/y and log width/height in cells.

    Peaks are local maxima within ``peak_radius`` cells (3×3 at 1) ≥ ``min_score``; with ``nms_iou`` a box
    overlapping a better one at IoU ≥ ``nms_iou`` is dropped too (neighbouring peaks of one fracture).
    Returns ``(boxes (K, 4) x0, y0, x1, y1 in input pixels, scores (K,))``, best first, K ≤ ``top_k``."""
    boxes, scores = _peak_boxes(heat, reg, stride, min_score, peak_radius)
    if nms_iou is not None:
        keep = greedy_nms(boxes, nms_iou)
        boxes, scores = boxes[keep], scores[keep]
    return boxes[:top_k], scores[:top_k]


def greedy_nms(boxes: np.ndarray, max_iou: float) -> np.ndarray:
    """Indices of (K, 4) boxes, given best first, kept by greedy non-maximum suppression at ``max_iou``."""
    keep: list[int] = []
    for k in range(len(boxes)):
        if not keep or _iou(boxes[k], boxes[keep]).max() < max_iou:
            keep.append(k)
    return np.array(keep, int)


def _iou(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    lo = np.maximum(box[:2], others[:, :2])
    hi = np.minimum(box[2:], others[:, 2:])
    inter = np.prod(np.clip(hi - lo, 0, None), axis=1)
    area = np.prod(box[2:] - box[:2])
    return inter / (area + np.prod(others[:, 2:] - others[:, :2], axis=1) - inter + 1e-9)


def _peak_boxes(
    heat: np.ndarray, reg: np.ndarray, stride: int, min_score: float, radius: int
) -> tuple[np.ndarray, np.ndarray]:
    """Every peak's box and score, best first."""
    peaks = local_maxima(heat, radius) & (heat >= min_score)
    rows, cols = np.nonzero(peaks)
    order = np.argsort(-heat[rows, cols], kind="stable")
    rows, cols = rows[order], cols[order]
    cx = (cols + 0.5 + reg[0, rows, cols]) * stride
    cy = (rows + 0.5 + reg[1, rows, cols]) * stride
    w = np.exp(np.clip(reg[2, rows, cols], -3, 5)) * stride
    h = np.exp(np.clip(reg[3, rows, cols], -3, 5)) * stride
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1).astype(np.float32)
    return boxes.reshape(-1, 4), heat[rows, cols].astype(np.float32)
