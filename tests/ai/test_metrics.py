"""Validation metrics against hand calculations and monai.metrics (a test-only reference)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ai.validation import metrics as M

# Ten cases, four positive. Scores and the hand count at threshold 0.5:
#   positives 0.9 0.8 | 0.4 0.3      -> TP = 2 (0.9, 0.8), FN = 2
#   negatives 0.7 0.6 | 0.35 0.2 0.1 0.05 -> FP = 2 (0.7, 0.6), TN = 4
Y = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0])
S = np.array([0.9, 0.8, 0.4, 0.3, 0.7, 0.2, 0.1, 0.05, 0.6, 0.35])


def test_confusion_ratios_by_hand() -> None:
    c = M.confusion_at(Y, S, 0.5)
    assert (c.tp, c.fp, c.tn, c.fn) == (2, 2, 4, 2)
    assert c.sensitivity == pytest.approx(2 / 4)
    assert c.specificity == pytest.approx(4 / 6)
    assert c.ppv == pytest.approx(2 / 4)
    assert c.f1 == pytest.approx(2 * 2 / (2 * 2 + 2 + 2))
    assert c.accuracy == pytest.approx(6 / 10)
    assert c.npv == pytest.approx(4 / 6)
    pred = S >= 0.5
    assert M.sensitivity(Y, pred) == c.sensitivity and M.specificity(Y, pred) == c.specificity
    assert M.ppv(Y, pred) == c.ppv and M.f1_score(Y, pred) == c.f1


def test_undefined_ratios_are_nan() -> None:
    c = M.confusion([0, 0, 0], [0, 1, 0])
    assert math.isnan(c.sensitivity) and c.specificity == pytest.approx(2 / 3)
    assert math.isnan(M.roc_auc([1, 1], [0.2, 0.4]))


def test_multiclass_accuracy() -> None:
    assert M.accuracy(["glioma", "pituitary", "meningioma"], ["glioma", "glioma", "meningioma"]) == \
        pytest.approx(2 / 3)


def test_roc_auc_by_hand() -> None:
    # Pairs (positive, negative) ranked correctly: 0.9 beats all 6 negatives, 0.8 beats 6,
    # 0.4 beats 0.35/0.2/0.1/0.05 = 4, 0.3 beats 0.2/0.1/0.05 = 3  -> 19 of 24 pairs.
    assert M.roc_auc(Y, S) == pytest.approx(19 / 24)
    # A tie counts one half: pos {0.5, 0.8} vs neg {0.5, 0.1}: 0.5 + 1 + 1 + 1 = 3.5 of 4.
    assert M.roc_auc([1, 1, 0, 0], [0.5, 0.8, 0.5, 0.1]) == pytest.approx(3.5 / 4)


def test_roc_curve_points() -> None:
    curve = M.roc_curve(Y, S)
    assert curve.thresholds[0] == np.inf and curve.fpr[0] == 0 and curve.tpr[0] == 0
    assert curve.fpr[-1] == 1 and curve.tpr[-1] == 1
    # At threshold 0.7 (third distinct score): positives 0.9, 0.8 in; negative 0.7 in.
    i = int(np.flatnonzero(curve.thresholds == 0.7)[0])
    assert (curve.tpr[i], curve.fpr[i]) == (pytest.approx(2 / 4), pytest.approx(1 / 6))


def test_threshold_for_sensitivity_by_hand() -> None:
    # Positives sorted 0.9 0.8 0.4 0.3: three of four (0.75) first reached at threshold 0.4.
    assert M.threshold_for_sensitivity(Y, S, 0.75) == 0.4
    assert M.confusion_at(Y, S, 0.4).specificity == pytest.approx(4 / 6)
    assert M.threshold_for_sensitivity(Y, S, 1.0) == 0.3


def test_roc_auc_matches_monai() -> None:
    torch = pytest.importorskip("torch")
    from monai.metrics import compute_roc_auc

    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 300)
    s = np.round(rng.random(300) + 0.4 * y, 2)  # rounded: plenty of ties
    expected = float(compute_roc_auc(torch.tensor(s), torch.tensor(y)))
    assert M.roc_auc(y, s) == pytest.approx(expected, abs=1e-12)


# --- detection ------------------------------------------------------------------------------------
# Three scans. Hit criterion: centre distance <= lesion radius.
#  A: lesions L1 (10,10) r5, L2 (50,50) r3. Detections: (11,10) .9 hits L1; (12,11) .6 hits L1 again
#     (duplicate: neither hit nor FP); (30,30) .8 FP; (51,52) .4 hits L2 (distance sqrt 5 <= 3).
#  B: lesion (20,20) r4. Detections: (40,40) .7 FP; (20,25) .95 -> distance 5 > 4: FP.
#  C: no lesion. Detections .5 FP, .3 FP.
# Lesion scores [.9, .4, missed]; FP scores [.8, .7, .95, .5, .3]; 3 lesions, 3 scans.


def _hand_outcomes() -> list[M.ScanOutcome]:
    a = M.scan_outcome(
        [0.9, 0.6, 0.8, 0.4],
        M.centre_hits([[11, 10], [12, 11], [30, 30], [51, 52]], [[10, 10], [50, 50]], [5, 3]),
    )
    b = M.scan_outcome([0.7, 0.95], M.centre_hits(np.array([[40, 40], [20, 25]]), np.array([[20, 20]]), [4]))
    c = M.scan_outcome([0.5, 0.3], np.zeros((2, 0), bool))
    return [a, b, c]


def test_scan_outcome_by_hand() -> None:
    a, b, c = _hand_outcomes()
    np.testing.assert_allclose(a.lesion_scores, [0.9, 0.4])
    np.testing.assert_allclose(sorted(a.fp_scores), [0.8])
    assert b.lesion_scores.tolist() == [-np.inf] and sorted(b.fp_scores) == [0.7, 0.95]
    assert c.lesion_scores.size == 0 and sorted(c.fp_scores) == [0.3, 0.5]


def test_froc_and_cpm_by_hand() -> None:
    curve = M.froc_curve(_hand_outcomes())
    # thresholds inf .95 .9 .8 .7 .5 .4 .3
    # FPs >= t:     0   1  1  2  3  4  4  5   (/3 scans)
    # lesions >= t: 0   0  1  1  1  1  2  2   (/3 lesions)
    np.testing.assert_allclose(curve.thresholds[1:], [0.95, 0.9, 0.8, 0.7, 0.5, 0.4, 0.3])
    np.testing.assert_allclose(curve.fp_per_scan, np.array([0, 1, 1, 2, 3, 4, 4, 5]) / 3)
    np.testing.assert_allclose(curve.sensitivity, np.array([0, 0, 1, 1, 1, 1, 2, 2]) / 3)
    # Sensitivity at 1/8, 1/4 FP: 0 (before the first hit at 1/3 FP); 1/2 and 1 FP: 1/3;
    # 2, 4, 8 FP: beyond the curve's end (5/3 FP), so its final 2/3.  CPM = (2/3 + 4 * 2/3) / 7 = 8/21.
    assert M.cpm(curve) == pytest.approx(8 / 21)
    assert M.lesion_sensitivity(_hand_outcomes(), 0.5) == pytest.approx(1 / 3)
    assert M.fp_per_scan(_hand_outcomes(), 0.5) == pytest.approx(4 / 3)


def test_froc_matches_monai() -> None:
    from monai.metrics import compute_froc_curve_data, compute_froc_score

    rng = np.random.default_rng(7)
    outcomes = []
    for _ in range(25):
        n_lesions = int(rng.integers(0, 4))
        found = rng.random(n_lesions) < 0.7
        lesions = np.where(found, np.round(rng.random(n_lesions) * 0.9 + 0.05, 3), -np.inf)
        fps = np.round(rng.random(int(rng.integers(0, 6))) * 0.9 + 0.05, 3)
        outcomes.append(M.ScanOutcome(lesion_scores=lesions, fp_scores=fps))
    lesion_scores = np.concatenate([o.lesion_scores for o in outcomes])
    tp_probs = np.where(np.isfinite(lesion_scores), lesion_scores, 0.0)  # monai marks a missed lesion with 0
    fp_probs = np.concatenate([o.fp_scores for o in outcomes])
    fps, sens = compute_froc_curve_data(fp_probs, tp_probs, lesion_scores.size, len(outcomes))
    curve = M.froc_curve(outcomes)
    np.testing.assert_allclose(curve.fp_per_scan, fps[::-1])
    np.testing.assert_allclose(curve.sensitivity, sens[::-1])
    assert M.cpm(curve) == pytest.approx(compute_froc_score(fps, sens, M.CPM_FP_RATES))


def test_box_iou_by_hand() -> None:
    # 2D: (0,0)-(10,10) vs (5,0)-(15,10): intersection 5x10 = 50, union 100 + 100 - 50 = 150.
    assert M.box_iou([[0, 0, 10, 10]], [[5, 0, 15, 10]])[0, 0] == pytest.approx(1 / 3)
    # 3D: unit-offset 2-cubes: intersection 1, union 8 + 8 - 1 = 15.
    assert M.box_iou([[0, 0, 0, 2, 2, 2]], [[1, 1, 1, 3, 3, 3]])[0, 0] == pytest.approx(1 / 15)
    assert M.box_iou([[0, 0, 1, 1]], [[2, 2, 3, 3]])[0, 0] == 0
    assert M.iou_hits([[0, 0, 10, 10]], [[5, 0, 15, 10]], 0.3).tolist() == [[True]]


def test_iou_recall_by_hand() -> None:
    # Case 1: gt (0,0,10,10), pred (1,1,10,10): IoU 81/100 -> recalled.
    # Case 2: two gt boxes, one pred with IoU 1/3 on the first and 0 on the second -> neither recalled.
    recall = M.iou_recall(
        [np.array([[1, 1, 10, 10]]), np.array([[5, 0, 15, 10]])],
        [np.array([[0, 0, 10, 10]]), np.array([[0, 0, 10, 10], [20, 20, 30, 30]])],
    )
    assert recall == pytest.approx(1 / 3)
    assert M.iou_recall([np.zeros((0, 4))], [np.array([[0, 0, 1, 1]])]) == 0


def test_peak_in_boxes() -> None:
    heat = np.zeros((20, 30))
    heat[5, 12] = 1.0  # row (y) 5, column (x) 12 -> pixel centre (12.5, 5.5)
    assert M.peak_in_boxes(heat, [[10, 4, 13, 6]])
    assert not M.peak_in_boxes(heat, [[13, 4, 20, 6]])
    assert not M.peak_in_boxes(heat, np.zeros((0, 4)))
    vol = np.zeros((8, 9, 10))
    vol[2, 3, 4] = 5  # z 2, y 3, x 4 -> centre (4.5, 3.5, 2.5)
    assert M.peak_in_boxes(vol, [[4, 3, 2, 5, 4, 3]]) and not M.peak_in_boxes(vol, [[4, 3, 3, 5, 4, 4]])
    # Rate over cases that have a box: 1 of 2 (the case without a box is not counted).
    assert M.peak_in_box_rate([heat, heat, heat], [[[10, 4, 13, 6]], [[13, 4, 20, 6]], []]) == 0.5


# --- segmentation ---------------------------------------------------------------------------------


def _square(shape: tuple[int, int], lo: int, hi: int) -> np.ndarray:
    m = np.zeros(shape, bool)
    m[lo:hi, lo:hi] = True
    return m


def test_dice_by_hand() -> None:
    a, b = _square((10, 10), 2, 5), _square((10, 10), 3, 7)  # 9 and 16 pixels, overlap 2x2 = 4
    assert M.dice(a, b) == pytest.approx(2 * 4 / (9 + 16))
    assert M.dice(a, a) == 1.0 and M.dice(np.zeros((3, 3)), np.zeros((3, 3))) == 1.0
    assert M.dice(a, np.zeros_like(a)) == 0.0


def test_dice_matches_monai() -> None:
    torch = pytest.importorskip("torch")
    from monai.metrics import DiceMetric

    rng = np.random.default_rng(1)
    pred, gt = rng.random((12, 14, 9)) > 0.6, rng.random((12, 14, 9)) > 0.5
    ref = DiceMetric(include_background=True, reduction="none")(
        torch.tensor(pred[None, None], dtype=torch.float32), torch.tensor(gt[None, None], dtype=torch.float32)
    )
    assert M.dice(pred, gt) == pytest.approx(float(ref), abs=1e-6)


def test_hd95_concentric_squares_by_hand() -> None:
    # Inner 3x3 square (rows/cols 4..6), outer 7x7 square (2..8): both solid; edges are their rings.
    # Inner ring (8 px) -> outer ring: every distance 2 (straight out).
    # Outer ring (24 px) -> inner ring: per side 3 px at 2, 2 px at sqrt(1+4) = sqrt 5, corners sqrt 8:
    #   12 x 2, 8 x sqrt 5, 4 x sqrt 8. 95th percentile: position 0.95 * 23 = 21.85 -> between sorted
    #   items 21 and 22, both sqrt 8. 50th: position 11.5 -> 2 + 0.5 (sqrt 5 - 2).
    inner, outer = _square((11, 11), 4, 7), _square((11, 11), 2, 9)
    assert M.hausdorff(inner, outer) == pytest.approx(math.sqrt(8))
    assert M.hausdorff(outer, inner, spacing=(0.5, 0.5)) == pytest.approx(0.5 * math.sqrt(8))
    assert M.hausdorff(inner, outer, percentile=50) == pytest.approx(2 + 0.5 * (math.sqrt(5) - 2))
    assert M.hausdorff(inner, inner) == 0


def test_hausdorff_shifted_cube_anisotropic_by_hand() -> None:
    # A 5^3 cube and the same cube one slice further along k, spacing (2.5, 0.7, 0.7) mm.
    # Side faces coincide (distance 0); the moved top face is one slice (2.5 mm) from the old one, and no
    # edge voxel is further than that from the other's edge -> maximum (percentile 100) = 2.5 mm.
    gt = np.zeros((10, 10, 10), bool)
    gt[2:7, 2:7, 2:7] = True
    pred = np.roll(gt, 1, axis=0)
    assert M.hausdorff(pred, gt, spacing=(2.5, 0.7, 0.7), percentile=100) == pytest.approx(2.5)


def test_hausdorff_empty_masks() -> None:
    empty, some = np.zeros((5, 5), bool), _square((5, 5), 1, 3)
    assert math.isnan(M.hausdorff(empty, empty))
    assert M.hausdorff(empty, some) == math.inf


def test_mask_edges_of_square_and_border() -> None:
    # A 4x4 square: its 12-pixel ring; a mask filling the array: all of its outer ring (outside = background).
    assert M.mask_edges(_square((8, 8), 2, 6)).sum() == 12
    assert M.mask_edges(np.ones((4, 4), bool)).sum() == 12
