"""Export the trained tumour model with its OOD guard and calibrate its presence threshold on validation.

``python -m ai.training.tumour_export [--members B.pt …]`` (after ``python -m ai.training.tumour``):

1. ``model.onnx`` with outputs ``presence``, ``logits``, ``cam``, ``box``, ``ood_distance``;
2. ``ood.json``: Mahalanobis statistics fitted on the training slices' pooled stride-16 features (as
   fine-tuned: blocks 8-10 are trained); the threshold placed through the product pipeline between the
   validation slices and validation images of other kinds (:mod:`ai.training.ood_calibrate`);
3. the package written, then run through :func:`ai.validation.run.validate` (the product's pipeline) on
   the Br35H validation split; the presence threshold is the one with the highest sensitivity at
   validation specificity ≥ ``MIN_SPECIFICITY``, and its measured sensitivity / specificity go into
   ``model.json``. The test splits are measured afterwards by ``radsight validate`` (see the card).
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ai.datasets import TUMOUR_CLASSES
from ai.ood import OOD_FILE
from ai.package import OperatingPoint
from ai.training import ood_calibrate, ood_fit
from ai.training.common import GRAY_MEAN, GRAY_STD, LABELLED, MODELS, WORK, export_onnx, setup
from ai.training.tumour_card import package
from ai.training.tumour_data import NAME, SIZE, load, view_cache
from ai.training.tumour_model import FROZEN_BLOCKS, TumourNet, frozen_low, trained_mid

MIN_SPECIFICITY = 0.92
log = logging.getLogger("radsight.train")


class TumourExport(ood_fit.GuardedExport):
    """What ships: presence logit, type logits, CAMs (tumour + types), box, OOD distance — of one network,
    or the mean of several trained alike (``extra``: the further members; blocks 0-7 keep their ImageNet
    weights in every member, so their maps are computed once; the guard reads the first member's map)."""

    def __init__(self, net: TumourNet, ood: ood_fit.MahalanobisHead,
                 extra: tuple[TumourNet, ...] = ()) -> None:
        super().__init__(net, ood)
        self.extra = nn.ModuleList(extra)

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, ...]:
        early = self.net.trunk.early((image - GRAY_MEAN) / GRAY_STD)
        low = frozen_low(self.net.trunk, early)
        mid = trained_mid(self.net.trunk, low)
        presence, logits, cam, box, _ = self.net.forward_cached(early, mid)
        if len(self.extra):
            outs = [(presence, logits, cam, box)]
            outs += [m.forward_cached(early, trained_mid(m.trunk, low))[:4] for m in self.extra]
            presence, logits, cam, box = (torch.stack(v).mean(dim=0) for v in zip(*outs, strict=True))
        return presence, logits, cam, box, self.ood(mid)


@torch.no_grad()
def plain_mids(net: TumourNet, lows: np.ndarray, batch: int = 64) -> np.ndarray:
    """The trained stride-16 map of each cached plain view (block 7's output → blocks 8-10)."""
    net.eval()
    return np.concatenate(
        [trained_mid(net.trunk, torch.from_numpy(lows[i : i + batch]).float()).numpy()
         for i in range(0, len(lows), batch)]
    )


def fit_guard(net: TumourNet) -> tuple[ood_fit.MahalanobisHead, dict]:
    data = load()
    cache = view_cache(net.trunk, data)
    rows = data.split != "test"  # the test split is not cached: measured through the product only
    feats = ood_fit.pooled_numpy(plain_mids(net, cache["low"][0, rows]))
    return ood_fit.fitted_guard(
        feats,
        data.split[rows],
        "a brain MRI slice",
        "validation slices (brain-tumor-mri + Br35H)",
        "per-channel mean and standard deviation of the stride-16 EfficientNet-Lite0 map (112 channels; "
        "ImageNet weights, blocks 8-10 fine-tuned with the model); Mahalanobis distance with 5 % "
        "shrinkage to the training slices",
    )


def load_net(path: Path) -> TumourNet:
    net = TumourNet(len(TUMOUR_CLASSES), SIZE)
    net.load_state_dict(torch.load(path, map_location="cpu"))
    return net.eval()


def export(onnx_path: Path, members: tuple[Path, ...] = ()) -> dict:
    """``best.pt`` (and ``members``, averaged with it) → ``model.onnx``; the guard's ``ood.json`` content."""
    net = load_net(WORK / NAME / "best.pt")
    extra = tuple(load_net(path) for path in members)
    for other in extra:  # the shared frozen blocks must be the same in every member
        for a, b in zip(net.trunk.blocks[:FROZEN_BLOCKS].parameters(),
                        other.trunk.blocks[:FROZEN_BLOCKS].parameters(), strict=True):
            assert torch.equal(a, b), "members differ in the frozen trunk blocks"
    head, info = fit_guard(net)
    export_onnx(
        TumourExport(net, head, extra),
        torch.rand(1, 1, SIZE, SIZE),
        onnx_path,
        ["presence", "logits", "cam", "box", "ood_distance"],
    )
    return info


def calibrate(directory: Path) -> OperatingPoint:
    """Presence threshold from the product pipeline's scores on the Br35H validation split."""
    from ai.validation.run import ValidateRequest, validate

    with tempfile.TemporaryDirectory() as out:
        request = ValidateRequest(
            model=NAME,
            data=LABELLED / "br35h",
            out=Path(out),
            subset_file=directory / "split_br35h.csv",
            split="val",
            n_boot=10,
        )
        report, _ = validate(request)
    y = np.array([c.positive for c in report.cases], bool)
    s = np.array([c.score for c in report.cases], float)
    best = None
    for t in np.unique(s):
        spec, sens = float((s[~y] < t).mean()), float((s[y] >= t).mean())
        if spec >= MIN_SPECIFICITY and (best is None or sens > best[1]):
            best = (float(t), sens, spec)
    t, sens, spec = best or (0.5, float((s[y] >= 0.5).mean()), float((s[~y] < 0.5).mean()))
    log.info("presence threshold %.4f: validation sensitivity %.4f specificity %.4f", t, sens, spec)
    return OperatingPoint(
        label="tumour",
        threshold=round(t, 6),
        sensitivity=round(sens, 4),
        specificity=round(spec, 4),
        measured_on="Br35H validation split, product pipeline",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", nargs="*", default=[], type=Path,
                        help="further state dicts averaged with best.pt (networks trained alike)")
    args = parser.parse_args()
    setup(NAME)
    directory = MODELS / NAME
    onnx_path = WORK / NAME / "export" / "model.onnx"
    info = export(onnx_path, tuple(args.members))
    (directory / OOD_FILE).write_text(json.dumps(info, indent=2) + "\n")
    from ai.package import write_package

    provisional = OperatingPoint(
        label="tumour",
        threshold=0.5,
        sensitivity=0.0,
        specificity=0.0,
        measured_on="provisional, replaced by calibration",
    )
    write_package(directory, onnx_path, package(provisional, {}))
    ood_calibrate.place_threshold(NAME)
    point = calibrate(directory)
    write_package(directory, onnx_path, package(point, {}))
    (WORK / NAME / "operating_point.json").write_text(json.dumps(point.__dict__, indent=2) + "\n")


if __name__ == "__main__":
    main()
