"""Seeded percentile-bootstrap confidence intervals and per-subgroup breakdowns.

A *statistic* is any function of an index array into the evaluated cases (it may see an index more
than once). Resampling is by case, or by whole groups (patient, scan) where a group key exists, so
that correlated cases move together.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

Statistic = Callable[[np.ndarray], float]


@dataclass(frozen=True)
class Estimate:
    """A point estimate on all cases with its bootstrap interval and the number of cases behind it."""

    value: float
    ci95: tuple[float, float]
    n: int

    def to_json(self) -> dict[str, object]:
        """``{"value": v, "ci95": [lo, hi], "n": n}``; undefined numbers become ``null``."""
        return {"value": _finite_or_none(self.value), "ci95": [_finite_or_none(c) for c in self.ci95],
                "n": self.n}


def _finite_or_none(x: float) -> float | None:
    return None if x is None or math.isnan(x) else float(x)


def _group_members(indices: np.ndarray, groups: Sequence[object] | None) -> list[np.ndarray]:
    """The case indices of each group (each case its own group when there is no key)."""
    if groups is None:
        return [np.array([i]) for i in indices]
    keys = np.asarray([str(groups[i]) for i in indices])
    _, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
    order = np.argsort(inverse, kind="stable")
    return np.split(indices[order], np.cumsum(counts)[:-1]) if indices.size else []


def resample(members: list[np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """One bootstrap sample: as many groups as there are, drawn with replacement, their cases joined."""
    picks = rng.integers(0, len(members), len(members))
    return np.concatenate([members[p] for p in picks])


def bootstrap_ci(
    statistic: Statistic,
    cases: int | Sequence[int] | np.ndarray,
    groups: Sequence[object] | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> Estimate:
    """Statistic on ``cases`` (a count, or an index array) with its percentile-bootstrap interval.

    ``groups`` (indexed like the full case list) makes the resampling unit a group. Replicates where
    the statistic is undefined (``nan``, e.g. no positive case drawn) are left out of the percentiles.
    """
    indices = np.arange(cases) if isinstance(cases, int) else np.asarray(cases, dtype=int)
    value = float(statistic(indices)) if indices.size else float("nan")
    members = _group_members(indices, groups)
    if len(members) < 2:
        return Estimate(value, (float("nan"), float("nan")), int(indices.size))
    rng = np.random.default_rng(seed)
    reps = np.array([statistic(resample(members, rng)) for _ in range(n_boot)], dtype=float)
    reps = reps[~np.isnan(reps)]
    if reps.size == 0:
        return Estimate(value, (float("nan"), float("nan")), int(indices.size))
    tail = 100 * (1 - level) / 2
    lo, hi = np.percentile(reps, [tail, 100 - tail])
    return Estimate(value, (float(lo), float(hi)), int(indices.size))


def subgroup_indices(labels: Sequence[str | Sequence[str]]) -> dict[str, np.ndarray]:
    """Case indices per subgroup label; a case with several labels (a tuple) is in each of them."""
    out: dict[str, list[int]] = {}
    for i, label in enumerate(labels):
        for name in [label] if isinstance(label, str) else label:
            out.setdefault(str(name), []).append(i)
    return {name: np.asarray(idx) for name, idx in sorted(out.items())}


def subgroup_estimates(
    statistic: Statistic,
    labels: Sequence[str | Sequence[str]],
    groups: Sequence[object] | None = None,
    n_boot: int = 1000,
    seed: int = 0,
) -> dict[str, Estimate]:
    """The statistic with its interval within each subgroup (e.g. body region)."""
    return {
        name: bootstrap_ci(statistic, idx, groups=groups, n_boot=n_boot, seed=seed)
        for name, idx in subgroup_indices(labels).items()
    }
