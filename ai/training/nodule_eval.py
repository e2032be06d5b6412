"""Calibrate, export and measure the nodule classifier: ``python -m ai.training.nodule_eval`` after the
three trainings (``python -m ai.training.nodule`` with no holdout, ``--holdout lidc-idri-0001`` and
``--holdout lidc-idri-0003``).

1. Calibration: per model, a temperature fitted on the validation crops (nodule patch + 4 structure
   patches per crop, NLL, grid search) and folded into the exported ONNX graph (``logits / T``).
2. Leave-one-scan-out: each held-out model scores every candidate of its held-out scan (the pipeline's
   candidates and patches, :mod:`ai.training.nodule_scans`) → FROC, CPM, ranks.
3. Operating point: the lowest threshold at which the pooled held-out scans have ≤ 4 false marks per
   scan (no test data involved; LIDC-0314 is not used), applied to the shipped model. Because that
   threshold is chosen on the scans it is then reported on, each held-out scan is also reported at the
   threshold chosen on the other one alone (``loso_cross_threshold``).
4. Crop mode on the test patients' crops (sensitivity, specificity, AUC with bootstrap CIs).
5. Candidate recall of the candidate stage alone on all three scans.
LIDC-0314 through the product path is measured by ``radsight validate`` and the tests, not here.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ai.datasets.lidc_scans import truth_for
from ai.pipelines.nodule_patches import PATCH, crop_like, window
from ai.training.common import WORK, bootstrap_ci, export_onnx, roc_auc, save_json, setup
from ai.training.evaluate import cpu_session
from ai.training.nodule import NAME, TRAIN_SCANS, load_crops, run_dir
from ai.training.nodule_data import extract, negative_centres
from ai.training.nodule_model import NoduleNet
from ai.training.nodule_scans import find_scan, geometry_of, read_series
from ai.training.nodule_scans import load as load_scan
from ai.validation.metrics import centre_hits
from ai.validation.nodule_scans import ScanMarks, scan_metrics

log = logging.getLogger("radsight.train")
MAX_FP_PER_SCAN = 4.0
SCANS = ("lidc-idri-0001", "lidc-idri-0003", "lidc-idri-0314")


class Calibrated(nn.Module):
    """The trained net — or several nets of one recipe trained with different seeds (an ensemble) — with
    the mean of their logits divided by the validation temperature; the CAM is the mean of their CAMs
    (uncalibrated, as for one net)."""

    def __init__(self, nets: list[NoduleNet], temperature: float) -> None:
        super().__init__()
        self.nets, self.temperature = nn.ModuleList(nets), float(temperature)

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        outputs = [net(image) for net in self.nets]
        logits = torch.stack([o[0] for o in outputs]).mean(0)
        cam = torch.stack([o[1] for o in outputs]).mean(0)
        return logits / self.temperature, cam


def val_patches(crops: list, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Deterministic crop patches as the pipeline cuts them: nodules (label 1), structures (label 0)."""
    rng = np.random.default_rng(seed)
    pos = [window(crop_like(extract(c.hu, c.centre), 2 * c.radius)) for c in crops]
    neg = [window(crop_like(extract(c.hu, n), 5.0)) for c in crops for n in negative_centres(c, rng, 4)]
    small = np.array([c.diameter < 10 for c in crops])
    x = np.stack(pos + neg)[:, None].astype(np.float32)
    return x, np.r_[np.ones(len(pos)), np.zeros(len(neg))], small


@torch.no_grad()
def logits_of(net: nn.Module, x: np.ndarray) -> np.ndarray:
    net.eval()
    return np.concatenate([net(torch.from_numpy(x[i : i + 64]))[0].numpy() for i in range(0, len(x), 64)])


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    margin = logits[:, 1] - logits[:, 0]
    grid = np.exp(np.linspace(np.log(0.25), np.log(8.0), 200))
    nll = [np.mean(np.logaddexp(0, -margin / t) * y + np.logaddexp(0, margin / t) * (1 - y)) for t in grid]
    return float(grid[int(np.argmin(nll))])


def export(run: str, crops_val: list, members: list[Path]) -> tuple[object, float]:
    """Calibrate and export ``run`` (``all`` or ``holdout-…``): its net in :data:`WORK`, plus the same run
    of each further training root in ``members`` (other seeds), averaged (:class:`Calibrated`)."""
    nets = []
    for root in [WORK, *members]:
        net = NoduleNet()
        net.load_state_dict(torch.load(root / NAME / run / "last.pt"))
        nets.append(net.eval())
    x, y, _ = val_patches(crops_val, seed=1)
    t = fit_temperature(logits_of(Calibrated(nets, 1.0), x), y)
    path = WORK / NAME / run / "model.onnx"
    export_onnx(Calibrated(nets, t), torch.rand(1, 1, PATCH, PATCH, PATCH), path, ["logits", "cam"])
    return cpu_session(path), t


def probabilities(session, x: np.ndarray) -> np.ndarray:
    out = []
    for i in range(0, len(x), 64):
        logits = session.run(["logits"], {"image": x[i : i + 64]})[0]
        out.append(1 / (1 + np.exp(-(logits[:, 1] - logits[:, 0]))))
    return np.concatenate(out) if out else np.zeros(0)


def scan_marks(name: str, session) -> ScanMarks:
    data = load_scan(name)
    scan = find_scan(name)
    truth = truth_for(scan, geometry_of(read_series(scan.series)))
    return ScanMarks(name, data.centres_mm, probabilities(session, data.patches), truth)


def threshold_for(marks: list[ScanMarks]) -> float:
    """Lowest score threshold with ≤ MAX_FP_PER_SCAN false marks per scan (≥ 1 reader counts as truth,
    so 1-reader nodules are not counted as false)."""
    from ai.validation.nodule_scans import outcome

    fps = np.sort(np.concatenate([outcome(m, 1).fp_scores for m in marks]))[::-1]
    allowed = int(np.floor(MAX_FP_PER_SCAN * len(marks)))
    return float(np.nextafter(fps[allowed], np.inf)) if len(fps) > allowed else float(fps.min(initial=0.0))


def cross_threshold(marks: list[ScanMarks]) -> dict:
    """The pooled threshold is chosen on the very held-out scans it is reported on. A stricter check:
    each held-out scan at the threshold chosen (same rule) on the *other* held-out scan only."""
    out = {}
    for i, scan in enumerate(marks):
        others = [m for j, m in enumerate(marks) if j != i]
        t = threshold_for(others)
        m = scan_metrics([scan], t, 2)
        out[scan.name] = {"threshold": t, "lesion_sensitivity": m["lesion_sensitivity"],
                          "fp_per_scan": m["fp_per_scan"]}
    return out


def candidate_recall() -> dict:
    """Per scan: nodules (by reader count) with a candidate centre within their radius."""
    out = {}
    for name in SCANS:
        data = load_scan(name)
        hit = centre_hits(data.centres_mm, data.nodule_centres_mm, data.nodule_radii_mm).any(axis=0)
        out[name] = {"n_candidates": int(len(data.centres_mm)),
                     "nodules": [{"readers": int(r), "radius_mm": round(float(rad), 1), "caught": bool(h)}
                                 for r, rad, h in zip(data.nodule_readers, data.nodule_radii_mm, hit,
                                                      strict=True)]}
    return out


def crop_metrics(session, crops: list, threshold: float) -> dict:
    x, y, small = val_patches(crops, seed=2)
    p = probabilities(session, x)
    pos, neg = p[y == 1], p[y == 0]
    return {"lesion_sensitivity": bootstrap_ci(lambda v: float((v >= threshold).mean()), pos),
            "lesion_sensitivity_lt10mm": bootstrap_ci(lambda v: float((v >= threshold).mean()), pos[small]),
            "lesion_sensitivity_ge10mm": bootstrap_ci(lambda v: float((v >= threshold).mean()), pos[~small]),
            "patch_specificity": bootstrap_ci(lambda v: float((v < threshold).mean()), neg),
            "patch_auc": bootstrap_ci(roc_auc, y, p)}


def member_seeds(members: list[Path]) -> list[dict]:
    """Where each ensemble member was trained and with which seed (from its ``train_info.json``)."""
    out = []
    for root in [WORK, *members]:
        info = root / NAME / "all" / "train_info.json"
        seed = json.loads(info.read_text())["args"]["seed"] if info.is_file() else None
        out.append({"root": str(root), "seed": seed})
    return out


def loso_phase(members: list[Path]) -> dict:
    """Calibrate and export the two leave-one-scan-out models, score their held-out scans, pick the
    threshold (saved as ``loso.json`` so that it can run while the shipped model still trains)."""
    report: dict = {"temperature": {}, "members": [str(r) for r in [WORK, *members]]}
    held_out = []
    for scan in TRAIN_SCANS:
        run = run_dir(scan).name
        session, t = export(run, load_crops(scan)["val"], members)
        report["temperature"][run] = t
        held_out.append(scan_marks(scan, session))
    threshold = threshold_for(held_out)
    report["threshold"] = threshold
    report["loso_cross_threshold"] = cross_threshold(held_out)
    report["loso"] = {"ge2": scan_metrics(held_out, threshold, 2),
                      "ge1": scan_metrics(held_out, threshold, 1)}
    save_json(WORK / NAME / "loso.json", report)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--phase", choices=("loso", "all", "both"), default="both")
    parser.add_argument("--members", type=Path, nargs="*", default=[],
                        help="further training roots (RADSIGHT_TRAIN_DIR of this recipe with other seeds) "
                             "whose runs join this one's in an averaged ensemble")
    args = parser.parse_args()
    setup(NAME)
    if args.phase in ("loso", "both"):
        loso_phase(args.members)
    if args.phase == "loso":
        return
    report = json.loads((WORK / NAME / "loso.json").read_text())
    threshold = report["threshold"]
    crops = load_crops(None)
    session, t = export("all", crops["val"], args.members)
    report["temperature"]["all"] = t
    report["ensemble"] = member_seeds(args.members)
    report["val"] = crop_metrics(session, crops["val"], threshold)
    report["test"] = crop_metrics(session, crops["test"], threshold)
    report["candidate_recall"] = candidate_recall()
    save_json(WORK / NAME / "all" / "metrics.json", report)
    log.info("threshold %.4f loso %s test %s", threshold, report["loso"]["ge2"], report["test"])
    report["train_scans_shipped_model"] = scan_metrics([scan_marks(s, session) for s in TRAIN_SCANS],
                                                       threshold, 2)
    save_json(WORK / NAME / "all" / "metrics.json", report)


if __name__ == "__main__":
    main()
