"""Export the trained fracture detector with its OOD guard and calibrate its thresholds on validation.

``python -m ai.training.fracture_export`` (after ``python -m ai.training.fracture``):

1. ``model.onnx`` with outputs ``logits``, ``cam``, ``heat`` (sigmoid), ``reg``, ``ood_distance``;
2. ``ood.json``: Mahalanobis statistics of the training radiographs' pooled stride-16 features; the
   threshold placed through the product pipeline between the validation radiographs and validation images
   of other kinds (:mod:`ai.training.ood_calibrate`; where they overlap, the radiographs' 99 % quantile);
   ``box_size.json``: the box-size scale fitted on the validation radiographs
   (:mod:`ai.training.box_size_fit`);
3. the package run through :func:`ai.validation.run.validate` (the product's pipeline) on the validation
   split: the triage threshold is the highest image-level threshold with validation sensitivity ≥
   ``TRIAGE_SENSITIVITY``; the box threshold the lowest box score whose validation false boxes per image
   stay ≤ ``MAX_FP_PER_IMAGE``. Both go into ``model.json`` with what they achieved on validation.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import torch

from ai.box_size import BOX_SIZE_FILE
from ai.ood import OOD_FILE
from ai.package import OperatingPoint, write_package
from ai.training import box_size_fit, ood_calibrate, ood_fit
from ai.training.common import GRAY_MEAN, GRAY_STD, LABELLED, MODELS, WORK, export_onnx, setup
from ai.training.fracture_card import package
from ai.training.fracture_data import NAME, SIZE, cached_views, early_cache, load
from ai.training.fracture_model import FractureNet

TRIAGE_SENSITIVITY = 0.90
MAX_FP_PER_IMAGE = 0.9  # a margin under the "≤ 1 false box per image"
log = logging.getLogger("radsight.train")


class FractureExport(ood_fit.GuardedExport):
    """What ships: logits, cam, heat (centre probability), reg (offset, log size), OOD distance."""

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, ...]:
        early = self.net.trunk.early((image - GRAY_MEAN) / GRAY_STD)
        mid = self.net.trunk.middle(early)
        logits, cam, det = self.net.forward_cached(early, mid)
        return logits, cam, torch.sigmoid(det[:, :1]), det[:, 1:], self.ood(mid)


@torch.no_grad()
def pooled_mid(net: FractureNet, early: np.ndarray, batch: int = 64) -> np.ndarray:
    """(N, 224) pooled stride-16 features (fine-tuned blocks) of cached stride-8 features (N, 40, h, w)."""
    net.eval()
    parts = [
        ood_fit.pooled(net.trunk.middle(torch.from_numpy(early[i : i + batch]).float())).numpy()
        for i in range(0, len(early), batch)
    ]
    return np.concatenate(parts).astype(np.float64)


def fit_guard(net: FractureNet) -> tuple[ood_fit.MahalanobisHead, dict]:
    data = load()
    early = early_cache(net.trunk, data.images, cached_views(data))[0]
    feats = np.zeros((len(early), 224))
    seen = data.split != "test"
    feats[seen] = pooled_mid(net, early[seen])
    return ood_fit.fitted_guard(
        feats,
        data.split,
        "a musculoskeletal radiograph (hand, leg, hip, shoulder)",
        "validation radiographs",
        "per-channel mean and standard deviation of the stride-16 EfficientNet-Lite0 map (ImageNet "
        "weights, stride-16 blocks fine-tuned with the detector); Mahalanobis distance with 5 % shrinkage "
        "to the training images",
    )


def export(onnx_path: Path) -> dict:
    net = FractureNet(SIZE)
    net.load_state_dict(torch.load(WORK / NAME / "best.pt"))
    net.eval()
    head, info = fit_guard(net)
    export_onnx(
        FractureExport(net, head),
        torch.rand(1, 1, SIZE, SIZE),
        onnx_path,
        ["logits", "cam", "heat", "reg", "ood_distance"],
    )
    return info


def calibrate() -> tuple[OperatingPoint, OperatingPoint]:
    """Triage and box operating points from the product pipeline's outputs on the validation split."""
    from ai.validation.run import ValidateRequest, validate

    out = WORK / NAME / "val_product"  # kept: validation AUC and AP50 through the product, for the card
    request = ValidateRequest(
        model=NAME,
        data=LABELLED / "fracatlas",
        out=out,
        subset_file=MODELS / NAME / "split.csv",
        split="val",
        n_boot=10,
    )
    report, _ = validate(request)
    cases = report.cases
    y = np.array([c.positive for c in cases], bool)
    s = np.array([c.score for c in cases], float)
    t = max(float(v) for v in np.unique(s) if (s[y] >= v).mean() >= TRIAGE_SENSITIVITY)
    triage = OperatingPoint(
        label="fracture",
        threshold=round(t, 6),
        sensitivity=round(float((s[y] >= t).mean()), 4),
        specificity=round(float((s[~y] < t).mean()), 4),
        measured_on="validation split, product pipeline",
    )
    box_t, recall, no_box = box_point(cases)
    box = OperatingPoint(
        label="fracture",
        name="box",
        threshold=round(box_t, 6),
        sensitivity=round(recall, 4),
        specificity=round(no_box, 4),
        measured_on="validation split, product pipeline: sensitivity = fracture boxes found at "
        "IoU >= 0.3; specificity = fracture-free images without a box at this score",
    )
    log.info("triage %s; box %s", triage, box)
    return triage, box


def box_point(cases: list) -> tuple[float, float, float]:
    """(lowest box threshold with false boxes per image ≤ MAX_FP_PER_IMAGE, its IoU≥0.3 recall, the share of
    fracture-free images with no box at it). Matches are score-ordered, so they hold at every threshold."""
    scores = np.concatenate([c.cand_scores for c in cases])
    hits = np.concatenate([c.cand_tp30 for c in cases])
    total = sum(c.boxes_total for c in cases)
    candidates = np.unique(np.concatenate([scores, [1.0]]))
    false_scores = np.sort(scores[~hits])
    per_image = (len(false_scores) - np.searchsorted(false_scores, candidates, side="left")) / len(cases)
    t = float(candidates[per_image <= MAX_FP_PER_IMAGE].min())
    found = int((hits & (scores >= t)).sum())
    clean = [not (c.cand_scores >= t).any() for c in cases if not c.positive]
    return t, found / max(total, 1), float(np.mean(clean))


def main() -> None:
    setup(NAME)
    directory = MODELS / NAME
    onnx_path = WORK / NAME / "export" / "model.onnx"
    info = export(onnx_path)
    (directory / OOD_FILE).write_text(json.dumps(info, indent=2) + "\n")
    provisional = (
        OperatingPoint(
            label="fracture", threshold=0.5, sensitivity=0.0, specificity=0.0, measured_on="provisional"
        ),
    )
    write_package(directory, onnx_path, package(provisional, {}))
    ood_calibrate.place_threshold(NAME)
    (directory / BOX_SIZE_FILE).write_text(json.dumps(box_size_fit.fit(), indent=2) + "\n")
    points = calibrate()
    write_package(directory, onnx_path, package(points, {}))
    (WORK / NAME / "operating_points.json").write_text(
        json.dumps([p.__dict__ for p in points], indent=2) + "\n"
    )


if __name__ == "__main__":
    main()
