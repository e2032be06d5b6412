"""K-fold cross-validation splits for training code: optionally grouped (patient) and stratified (label).

Units (single cases, or all cases of one group) are shuffled with the seed, then placed one by one,
largest first, into the fold that keeps the per-class fractions of the folds most even (ties: the
fold with the fewest cases) — the greedy rule of scikit-learn's StratifiedGroupKFold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Fold:
    """One fold: ``val`` indices held out, ``train`` the rest (both sorted)."""

    index: int
    train: np.ndarray
    val: np.ndarray


def _units(n: int, groups: Sequence[object] | None) -> list[np.ndarray]:
    if groups is None:
        return [np.array([i]) for i in range(n)]
    if len(groups) != n:
        raise ValueError(f"{len(groups)} group keys for {n} cases")
    keys = np.asarray([str(g) for g in groups])
    _, inverse = np.unique(keys, return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    return np.split(order, np.flatnonzero(np.diff(inverse[order])) + 1)


def _label_counts(units: list[np.ndarray], labels: Sequence[object] | None, n: int) -> np.ndarray:
    """(units, classes) case counts per class (one class when not stratifying)."""
    if labels is None:
        return np.array([[u.size] for u in units], dtype=float)
    if len(labels) != n:
        raise ValueError(f"{len(labels)} labels for {n} cases")
    _, codes = np.unique(np.asarray([str(x) for x in labels]), return_inverse=True)
    counts = np.zeros((len(units), codes.max() + 1))
    for u, members in enumerate(units):
        np.add.at(counts[u], codes[members], 1)
    return counts


def _best_fold(fold_counts: np.ndarray, unit: np.ndarray, totals: np.ndarray) -> int:
    costs = []
    for f in range(fold_counts.shape[0]):
        trial = fold_counts.copy()
        trial[f] += unit
        costs.append((float(np.mean(np.std(trial / totals, axis=0))), fold_counts[f].sum(), f))
    return min(costs)[2]


def kfold(n: int, k: int = 5, seed: int = 0, groups: Sequence[object] | None = None,
          labels: Sequence[object] | None = None) -> list[Fold]:
    """``k`` folds over ``n`` cases; ``groups`` keeps each group in one fold, ``labels`` stratifies."""
    units = _units(n, groups)
    if not 2 <= k <= len(units):
        raise ValueError(f"k = {k} folds need 2 <= k <= {len(units)} (the number of independent units)")
    counts = _label_counts(units, labels, n)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(units))
    order = order[np.argsort(-counts[order].sum(axis=1), kind="stable")]
    totals = np.maximum(counts.sum(axis=0), 1)
    fold_counts = np.zeros((k, counts.shape[1]))
    assignment = np.empty(n, dtype=int)
    for u in order:
        f = _best_fold(fold_counts, counts[u], totals)
        fold_counts[f] += counts[u]
        assignment[units[u]] = f
    all_idx = np.arange(n)
    return [Fold(f, all_idx[assignment != f], all_idx[assignment == f]) for f in range(k)]
