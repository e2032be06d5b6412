"""Logits → probabilities: the one softmax every pipeline uses."""

from __future__ import annotations

import numpy as np


def softmax(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    """Softmax along ``axis`` (float64, numerically stable)."""
    z = np.asarray(logits, dtype=np.float64)
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def class_probabilities(logits: np.ndarray) -> np.ndarray:
    """One case's class probabilities: softmax over classes, or ``[1 - p, p]`` for a single logit."""
    flat = np.asarray(logits, dtype=np.float64).ravel()
    if flat.size == 1:
        p = 1.0 / (1.0 + np.exp(-flat[0]))
        return np.array([1.0 - p, p])
    return softmax(flat)
