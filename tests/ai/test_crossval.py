"""K-fold splits: a partition, groups kept whole, labels stratified, balanced, seeded."""

from __future__ import annotations

import numpy as np
import pytest

from ai.validation.crossval import kfold


def _check_partition(folds, n: int) -> None:
    vals = np.concatenate([f.val for f in folds])
    assert sorted(vals.tolist()) == list(range(n))  # every case held out exactly once
    for f in folds:
        assert np.intersect1d(f.train, f.val).size == 0
        assert f.train.size + f.val.size == n


def test_plain_kfold_is_balanced_partition() -> None:
    folds = kfold(103, k=5, seed=0)
    _check_partition(folds, 103)
    assert sorted(f.val.size for f in folds) == [20, 20, 21, 21, 21]


def test_grouped_keeps_patients_whole() -> None:
    rng = np.random.default_rng(1)
    patients = [f"P{p}" for p in rng.integers(0, 40, 300)]
    folds = kfold(300, k=4, seed=2, groups=patients)
    _check_partition(folds, 300)
    for f in folds:
        val_patients = {patients[i] for i in f.val}
        train_patients = {patients[i] for i in f.train}
        assert not val_patients & train_patients
    sizes = [f.val.size for f in folds]
    assert max(sizes) - min(sizes) <= 0.25 * 300 / 4


def test_stratified_keeps_class_fractions() -> None:
    labels = np.array([1] * 30 + [0] * 170)  # 15 % positive
    folds = kfold(200, k=5, seed=0, labels=labels)
    _check_partition(folds, 200)
    assert [int(labels[f.val].sum()) for f in folds] == [6, 6, 6, 6, 6]


def test_grouped_and_stratified() -> None:
    rng = np.random.default_rng(4)
    patients = np.repeat(np.arange(60), 5)
    labels = np.repeat(rng.random(60) < 0.3, 5).astype(int)
    folds = kfold(300, k=3, seed=0, groups=patients.tolist(), labels=labels.tolist())
    _check_partition(folds, 300)
    fractions = [labels[f.val].mean() for f in folds]
    assert max(fractions) - min(fractions) < 0.08
    assert all(not set(patients[f.val]) & set(patients[f.train]) for f in folds)


def test_seeded() -> None:
    a, b, c = kfold(50, 5, seed=1), kfold(50, 5, seed=1), kfold(50, 5, seed=2)
    assert all(np.array_equal(x.val, y.val) for x, y in zip(a, b, strict=True))
    assert not all(np.array_equal(x.val, y.val) for x, y in zip(a, c, strict=True))


def test_too_many_folds_refused() -> None:
    with pytest.raises(ValueError, match="k = 5"):
        kfold(10, k=5, groups=["a", "b", "c", "a", "b", "c", "a", "b", "c", "d"])
