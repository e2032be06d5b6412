"""Findings: geometry, duplicate merging, JSON."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from ai.findings import (
    Finding,
    box_iou,
    findings_from_json,
    findings_to_json,
    located,
    merge_findings,
    rle_decode,
    rle_encode,
)
from ai.image import ImageInput

# Axial CT: i → +x (left), j → +y (posterior), k → -z (slices going down), like a head-first scan.
DIRECTION = np.array([[1.0, 0, 0], [0, 1.0, 0], [0, 0, -1.0]])
IMAGE = ImageInput(np.zeros((10, 20, 30), np.int16), spacing=(2.0, 0.5, 0.7),
                   origin=(-100.0, -50.0, 30.0), direction=DIRECTION, modality="CT")


def _finding(score: float, box: tuple, label: str = "nodule", model: str = "m") -> Finding:
    return located(Finding(model, "1", label, score, score >= 0.5, threshold=0.5), IMAGE, box)


def test_box_gives_centre_in_voxels_and_mm_and_size() -> None:
    f = _finding(0.9, (2, 4, 10, 5, 8, 20))
    assert f.center_kji == (3.0, 5.5, 14.5)
    assert f.center_mm == pytest.approx((-100 + 14.5 * 0.7, -50 + 5.5 * 0.5, 30 - 3 * 2.0))
    assert f.size_mm == pytest.approx((6.0, 2.0, 7.0))
    flat = located(Finding("m", "1", "x", 0.1, False), replace(IMAGE, has_geometry=False), (0, 0, 0, 1, 2, 2))
    assert flat.center_mm is None and flat.center_kji == (0.0, 0.5, 0.5)


def test_iou() -> None:
    assert box_iou((0, 0, 0, 2, 2, 2), (0, 0, 0, 2, 2, 2)) == 1.0
    assert box_iou((0, 0, 0, 2, 2, 2), (1, 0, 0, 3, 2, 2)) == pytest.approx(4 / 12)
    assert box_iou((0, 0, 0, 1, 1, 1), (5, 5, 5, 6, 6, 6)) == 0.0


def test_merging_keeps_the_best_of_each_lesion() -> None:
    a = _finding(0.9, (2, 4, 10, 5, 8, 20))
    a_dup = _finding(0.6, (2, 4, 11, 5, 8, 21))
    b = _finding(0.7, (7, 10, 0, 9, 14, 4))
    other_label = _finding(0.8, (2, 4, 10, 5, 8, 20), label="mass")
    other_model = _finding(0.95, (2, 4, 10, 5, 8, 20), model="m2")
    merged = merge_findings([a_dup, b, a, other_label, other_model])
    assert [(f.id, f.merged) for f in merged] == [(other_model.id, 1), (a.id, 2), (other_label.id, 1),
                                                  (b.id, 1)]
    across = merge_findings([a_dup, a, other_model], across_models=True)
    assert [(f.id, f.merged) for f in across] == [(other_model.id, 3)]
    near = _finding(0.5, (2, 4, 24, 5, 8, 30))  # centres 8.4 mm apart
    assert len(merge_findings([a, near], distance_mm=9.0)) == 1
    assert len(merge_findings([a, near], distance_mm=8.0)) == 2


def test_json_round_trip_with_mask() -> None:
    mask = np.zeros((3, 4, 10), bool)
    mask[1, 1:3, 2:7] = True
    f = replace(_finding(0.9, (2, 4, 10, 5, 8, 20)), mask=mask, explanation="m_cam.png",
                explanation_method="cam_output")
    text = findings_to_json([f], series="1.2.3")
    document = json.loads(text)
    assert document["disclaimer"] == "not for diagnostic use" and document["series"] == "1.2.3"
    assert document["findings"][0]["box_kji"] == [2.0, 4.0, 10.0, 5.0, 8.0, 20.0]
    back = findings_from_json(text)[0]
    assert back == f
    np.testing.assert_array_equal(back.mask, mask)


@pytest.mark.parametrize("values", [[], [True], [False, False], [True, True, False, True], [0, 1, 1, 0, 0]])
def test_rle_round_trip(values: list) -> None:
    array = np.array(values, dtype=bool)
    assert np.array_equal(rle_decode(rle_encode(array), array.shape), array)
