"""Bootstrap confidence intervals: contain the estimate, narrow with n, respect groups, seeded."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ai.validation import metrics as M
from ai.validation.bootstrap import bootstrap_ci, resample, subgroup_estimates, subgroup_indices


def _mean_of(values: np.ndarray):
    return lambda idx: float(np.mean(values[idx]))


def test_ci_contains_estimate_and_narrows_with_n() -> None:
    rng = np.random.default_rng(0)
    widths = []
    for n in (50, 800):
        values = (rng.random(n) < 0.8).astype(float)
        est = bootstrap_ci(_mean_of(values), n, n_boot=500, seed=1)
        assert est.ci95[0] <= est.value <= est.ci95[1]
        assert est.n == n
        widths.append(est.ci95[1] - est.ci95[0])
    # The width of a proportion's interval shrinks like 1/sqrt(n): 16x the cases -> about 1/4.
    assert widths[1] < 0.5 * widths[0]
    assert widths[1] > 0


def test_auc_interval_contains_auc() -> None:
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 200)
    s = rng.random(200) + 0.5 * y
    est = bootstrap_ci(lambda idx: M.roc_auc(y[idx], s[idx]), len(y), n_boot=300, seed=0)
    assert est.value == pytest.approx(M.roc_auc(y, s))
    assert 0.5 < est.ci95[0] < est.value < est.ci95[1] <= 1.0


def test_seeded_and_reproducible() -> None:
    values = np.random.default_rng(5).random(100)
    a = bootstrap_ci(_mean_of(values), 100, n_boot=200, seed=3)
    b = bootstrap_ci(_mean_of(values), 100, n_boot=200, seed=3)
    c = bootstrap_ci(_mean_of(values), 100, n_boot=200, seed=4)
    assert a == b and a.ci95 != c.ci95


def test_constant_values_give_a_point_interval() -> None:
    est = bootstrap_ci(_mean_of(np.full(30, 0.7)), 30, n_boot=100)
    assert est.value == pytest.approx(0.7) and est.ci95 == (pytest.approx(0.7), pytest.approx(0.7))


def test_group_resampling_keeps_groups_whole_and_widens_interval() -> None:
    # 20 patients x 10 identical cases each: the cases of a patient are not independent.
    patient_value = np.random.default_rng(9).random(20)
    values = np.repeat(patient_value, 10)
    patients = [f"P{i // 10}" for i in range(200)]
    by_case = bootstrap_ci(_mean_of(values), 200, n_boot=500, seed=0)
    by_patient = bootstrap_ci(_mean_of(values), 200, groups=patients, n_boot=500, seed=0)
    # Case resampling pretends n = 200; patient resampling knows n = 20: about sqrt(10) wider.
    assert (by_patient.ci95[1] - by_patient.ci95[0]) > 2 * (by_case.ci95[1] - by_case.ci95[0])
    members = [np.arange(10 * g, 10 * g + 10) for g in range(20)]
    sample = resample(members, np.random.default_rng(0))
    assert sample.size == 200
    assert all(np.all(np.diff(sample[k:k + 10]) == 1) and sample[k] % 10 == 0 for k in range(0, 200, 10))


def test_undefined_replicates_are_dropped() -> None:
    # One positive in 40 cases: many resamples hold no positive (sensitivity undefined there).
    y = np.zeros(40, int)
    y[0] = 1
    pred = y.copy()
    est = bootstrap_ci(lambda idx: M.sensitivity(y[idx], pred[idx]), 40, n_boot=200)
    assert est.value == 1.0 and est.ci95 == (1.0, 1.0)
    none = bootstrap_ci(lambda idx: M.sensitivity(y[idx], pred[idx]), np.arange(1, 40), n_boot=50)
    assert math.isnan(none.value) and math.isnan(none.ci95[0])
    assert none.to_json() == {"value": None, "ci95": [None, None], "n": 39}


def test_subgroups() -> None:
    labels = ["hand", ("leg", "hip"), "leg", "hand", "hip"]
    idx = subgroup_indices(labels)
    assert {k: v.tolist() for k, v in idx.items()} == {"hand": [0, 3], "hip": [1, 4], "leg": [1, 2]}
    values = np.array([1.0, 0.0, 1.0, 1.0, 0.0])
    est = subgroup_estimates(_mean_of(values), labels, n_boot=50)
    assert est["hand"].value == 1.0 and est["hip"].value == 0.0 and est["leg"].value == 0.5
    assert est["leg"].n == 2
