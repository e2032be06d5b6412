"""Box decoding and the detection metrics of ``radsight validate``, on cases worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from ai.box_decode import decode_centres, greedy_nms, local_maxima
from ai.validation.cases import CaseResult, score_case
from ai.validation.detection import average_precision, candidate_statistics, match, recall_and_fp
from ai.validation.report import build_report


def test_decode_centres_reads_offset_and_size() -> None:
    heat = np.zeros((10, 10), np.float32)
    heat[4, 6], heat[8, 1] = 0.9, 0.3
    reg = np.zeros((4, 10, 10), np.float32)
    reg[:, 4, 6] = (0.25, -0.5, np.log(2.0), np.log(4.0))  # centre (6.75, 4.0) cells, 2 × 4 cells
    boxes, scores = decode_centres(heat, reg, stride=8, top_k=5, min_score=0.1)
    assert scores.tolist() == pytest.approx([0.9, 0.3])
    assert boxes[0].tolist() == pytest.approx([6.75 * 8 - 8, 4.0 * 8 - 16, 6.75 * 8 + 8, 4.0 * 8 + 16])
    assert boxes[1].tolist() == pytest.approx([1.5 * 8 - 4, 8.5 * 8 - 4, 1.5 * 8 + 4, 8.5 * 8 + 4])
    assert decode_centres(heat, reg, 8, min_score=0.95)[0].shape == (0, 4)


def test_decode_nms_drops_a_neighbouring_peak_of_the_same_fracture() -> None:
    heat = np.zeros((10, 10), np.float32)
    heat[4, 4], heat[4, 6], heat[8, 8] = 0.9, 0.8, 0.3  # two peaks two cells apart, one far away
    reg = np.zeros((4, 10, 10), np.float32)
    reg[2:, 4, 4] = reg[2:, 4, 6] = np.log(4.0)  # 4 × 4 cells: the first two overlap at IoU 0.33
    assert len(decode_centres(heat, reg, 8, min_score=0.1)[1]) == 3
    boxes, scores = decode_centres(heat, reg, 8, min_score=0.1, nms_iou=0.3)
    assert scores.tolist() == pytest.approx([0.9, 0.3])
    loose = decode_centres(heat, reg, 8, min_score=0.1, nms_iou=0.5)[1]
    assert loose.tolist() == pytest.approx([0.9, 0.8, 0.3])
    assert decode_centres(heat, reg, 8, top_k=1, min_score=0.1, nms_iou=0.3)[0].shape == (1, 4)


def test_greedy_nms_keeps_best_first_order() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30], [0, 0, 10, 9]], np.float32)
    assert greedy_nms(boxes, 0.5).tolist() == [0, 2]
    assert greedy_nms(boxes, 0.95).tolist() == [0, 1, 2, 3]
    assert greedy_nms(boxes[:0], 0.5).tolist() == []


def test_local_maxima_suppresses_neighbours() -> None:
    heat = np.array([[0.1, 0.5, 0.4], [0.2, 0.3, 0.1], [0.0, 0.1, 0.6]])
    assert np.argwhere(local_maxima(heat)).tolist() == [[0, 1], [2, 2]]
    assert np.argwhere(local_maxima(heat, radius=2)).tolist() == [[2, 2]]  # 5×5: 0.5 is 2 cells from 0.6


def test_greedy_match_and_pooled_ap() -> None:
    gt = np.array([[0, 0, 10, 10], [20, 20, 30, 30]], float)
    pred = np.array([[0, 0, 10, 10], [1, 1, 10, 10], [50, 50, 60, 60], [20, 20, 30, 31]], float)
    scores = np.array([0.9, 0.8, 0.7, 0.6])
    # 0.9 takes box 1; 0.8 overlaps box 1 (IoU 0.81) but it is taken -> false; 0.7 false; 0.6 takes box 2.
    assert match(pred, scores, gt, 0.5).tolist() == [True, False, False, True]
    # Ranked: TP, FP, FP, TP -> precision 1 at recall 0.5, 0.5 at recall 1 -> AP = 0.5 * 1 + 0.5 * 0.5.
    assert average_precision([(pred, scores)], [gt], 0.5) == pytest.approx(0.75)
    assert recall_and_fp([(pred, scores)], [gt], 0.75, 0.5) == (0.5, 1.0)


def test_report_counts_candidate_boxes_at_the_box_threshold() -> None:
    gt = np.array([[10, 10, 30, 30]], float)
    hit = np.array([[12, 12, 30, 30]], float)  # IoU 0.81
    off = np.array([[40, 40, 60, 60]], float)
    cases = [
        CaseResult(
            id="a",
            truth="fractured",
            positive=True,
            score=0.9,
            gt_boxes=gt,
            cand_boxes=np.vstack([hit, off]),
            cand_scores=np.array([0.8, 0.4]),
        ),
        CaseResult(
            id="b",
            truth="fractured",
            positive=True,
            score=0.7,
            gt_boxes=gt,
            cand_boxes=off,
            cand_scores=np.array([0.6]),
        ),
        CaseResult(
            id="c",
            truth="non_fractured",
            positive=False,
            score=0.2,
            cand_boxes=off,
            cand_scores=np.array([0.3]),
        ),
    ]
    scored = [score_case(c) for c in cases]
    stats = candidate_statistics(scored, box_threshold=0.5)
    everyone = np.arange(3)
    assert stats["iou30_recall"](everyone) == pytest.approx(0.5)  # a found, b missed
    assert stats["fp_boxes_per_image"](everyone) == pytest.approx(1 / 3)  # only b's 0.6 box
    # All candidates ranked: 0.8 TP, 0.6 FP, 0.4 FP, 0.3 FP; 2 boxes -> AP = 0.5 * 1.
    assert stats["ap50"](everyone) == pytest.approx(0.5)
    report = build_report("m", "0", scored, threshold=0.5, n_boot=50, box_threshold=0.5)
    assert {"iou30_recall", "fp_boxes_per_image", "ap50", "auc"} <= set(report.metrics)
    assert report.details["box_threshold"] == 0.5
