"""Boxes from a CenterNet-style detection map (numpy only): local maxima of the centre heat map, each
with its sub-cell offset and size, in pixels of the network's input grid."""

from __future__ import annotations

import numpy as np


def local_maxima(heat: np.ndarray) -> np.ndarray:
    """(h, w) bool: cells not smaller than any of their 8 neighbours (a 3×3 max-pool NMS)."""
    padded = np.pad(heat, 1, constant_values=-np.inf)
    h, w = heat.shape
    neighbours = [
        padded[1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w] for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dy or dx
    ]
    return heat >= np.max(neighbours, axis=0)


def decode_centres(
    heat: np.ndarray, reg: np.ndarray, stride: int, top_k: int = 20, min_score: float = 0.01
) -> tuple[np.ndarray, np.ndarray]:
    """``heat`` (h, w) centre probabilities, ``reg`` (4, h, w): offset x/y and log width/height in cells.

    Returns ``(boxes (K, 4) x0, y0, x1, y1 in input pixels, scores (K,))``, best first."""
    peaks = local_maxima(heat) & (heat >= min_score)
    rows, cols = np.nonzero(peaks)
    order = np.argsort(-heat[rows, cols], kind="stable")[:top_k]
    rows, cols = rows[order], cols[order]
    cx = (cols + 0.5 + reg[0, rows, cols]) * stride
    cy = (rows + 0.5 + reg[1, rows, cols]) * stride
    w = np.exp(np.clip(reg[2, rows, cols], -3, 5)) * stride
    h = np.exp(np.clip(reg[3, rows, cols], -3, 5)) * stride
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1).astype(np.float32)
    return boxes.reshape(-1, 4), heat[rows, cols].astype(np.float32)
