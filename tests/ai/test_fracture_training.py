"""Pieces of the fracture detector's training that decide what it learns: the clock-bound learning-rate
plan, the feature-map shifts (targets move with the features) and which views are cached."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ai.training.fracture import SHIFT_CELLS, DeadlineCosine, shift_cells
from ai.training.fracture_data import FractureData, cached_views, centre_targets


def test_plan_warms_up_then_falls_to_the_floor_and_replans_to_the_clock() -> None:
    plan = DeadlineCosine(100)
    assert plan(0) == pytest.approx(1 / plan.WARMUP) and plan(plan.WARMUP - 1) == pytest.approx(1.0)
    assert plan(99) == pytest.approx(plan.FLOOR, abs=1e-3) and plan(500) == pytest.approx(plan.FLOOR)
    assert plan(40) > plan(60) > plan(80)
    # 2 epochs done at 300 s each, 1000 s left: 3 more fit -> 5 in all, the cosine stretched to 5 epochs
    assert plan.replan(2, 300.0, 1000.0, 77) == 5 and plan.total == 5 * 77
    assert plan.replan(2, 300.0, -10.0, 77) == 2  # past the deadline: stop after the epochs done


def test_shift_moves_features_and_targets_together() -> None:
    boxes = np.array([[100, 120, 124, 140]], np.float32)  # centre (112, 130) px = cell (14, 16)
    heat, reg, mask = centre_targets(boxes, 40)
    maps = torch.from_numpy(np.stack([heat, mask.astype(np.float32)]))[None]
    moved = shift_cells(maps, [(3, -2)])[0]
    assert np.argwhere(moved[1].numpy() > 0.5).tolist() == [[14, 17]]  # row 16 − 2, column 14 + 3
    assert moved[0].max() == pytest.approx(1.0) and moved[0][14, 17] == pytest.approx(1.0)
    edge = shift_cells(maps, [(-SHIFT_CELLS, 0)])[0]
    assert edge[0, :, -SHIFT_CELLS:].abs().sum() == 0  # zero fill where the map moved away


def test_mirror_view_is_cached_for_fractured_training_images_only() -> None:
    split = np.array(["train", "train", "val", "test", "train"])
    labels = np.array([1, 0, 1, 1, 1])
    data = FractureData([], np.zeros((5, 8, 8), np.uint8), labels, [np.zeros((0, 4))] * 5, split)
    views = cached_views(data)
    assert views[0].tolist() == [True, True, True, False, True]  # no test features at all
    assert views[1].tolist() == [True, False, False, False, True]
