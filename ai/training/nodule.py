"""Train the nodule candidate classifier on crops *and* whole-scan candidates:
``python -m ai.training.nodule [--holdout lidc-idri-0001] [--epochs N]``.

A small 3D CNN on 32³ patches at :data:`~ai.pipelines.nodule_patches.SPACING_MM` (1 mm;
:mod:`ai.training.nodule_model`), **trained from scratch** by default. nodule-ct 3.0.0 and later:
``--epochs 30 --lr 1e-3 --paste 0.5 --crop-fill`` (several ``--seed`` values, each in its own
``RADSIGHT_TRAIN_DIR``, for an ensemble: ``ai.training.nodule_eval --members``). ``--init MODEL.onnx``
fine-tunes a one-net export instead (2.0.0: from 1.0.0, ``git show dbd6f74:resources/models/nodule-ct/
model.onnx``, 3 epochs, lr 5e-4, its batch norms frozen as exported, first block frozen unless
``--train-first-block``). What was tried and not shipped is on the model card's History.

- Positives: every training crop of ``lidc-nodule-vois`` (its nodule, ± 2 mm) and the nodules of the
  training scans (LIDC-0001/0003 XML, ≥ 3 mm, any reader count), each cut ± 3 mm from its cube.
- Negatives: structures inside the crops, and the **whole-scan candidates** of the training scans away
  from any annotation (:mod:`ai.training.nodule_scans`) — half drawn uniformly, half from the quarter
  that the current model scores highest (hard-negative mining: re-mined with the model being trained
  every :data:`REMINE_EVERY` epochs; before that uniform, or ranked by the ``--init`` model).
- Augmentation: flips, in-plane right-angle rotations/mirrors, HU offset/gain/noise, jittered cut sizes.
- Split by patient: the crops' ``split.csv``; LIDC-0001 and 0003 (scans and their crops) are training
  data, except the one named by ``--holdout`` (leave-one-scan-out: its crops and scan are left out);
  LIDC-0314 is never used. The last epoch is kept (cosine schedule); validation-crop AUC is logged.
"""

from __future__ import annotations

import argparse
import logging
import pickle
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ai.datasets import assign_splits, read_lidc_vois, read_split_csv, write_split_csv
from ai.pipelines.nodule_patches import FILL_HU, PATCH, SLICE_MM, SPACING_MM, window
from ai.training import nodule_paste
from ai.training.common import LABELLED, MODELS, WORK, Timer, roc_auc, save_json, setup
from ai.training.nodule_data import augment, cut, extract, load_crop, sample_epoch
from ai.training.nodule_model import NoduleNet, freeze_batch_norm, load_onnx_weights
from ai.training.nodule_scans import CUBE, ScanData
from ai.training.nodule_scans import load as load_scan

NAME = "nodule-ct"
TRAIN_SCANS = ("lidc-idri-0001", "lidc-idri-0003")
SCAN_NEGATIVES_PER_EPOCH = 800
SCAN_POSITIVE_COPIES = 8
CROP_NEGATIVES = 1
CROP_EXTENT_P = 0.5
REMINE_EVERY = 2
log = logging.getLogger("radsight.train")


def patient_of(scan: str) -> str:
    return scan.upper()


def load_crops(holdout: str | None) -> dict[str, list]:
    """Crops by split; the scans' own patients on the training side, the held-out scan's patient nowhere."""
    records = read_lidc_vois(LABELLED / "lidc-nodule-vois")
    split_csv = MODELS / NAME / "split.csv"
    splits = read_split_csv(split_csv) if split_csv.is_file() else assign_splits(records, seed=0)
    scan_patients = {patient_of(s) for s in TRAIN_SCANS}
    splits = {r.id: "train" if r.patient in scan_patients else splits[r.id] for r in records}
    write_split_csv(split_csv, records, splits)
    cache = WORK / "cache" / f"lidc_crops_{SPACING_MM:g}mm_slice{SLICE_MM:g}.pkl"
    if cache.is_file():
        loaded = pickle.loads(cache.read_bytes())
    else:
        loaded = [load_crop(rec) for rec in records]
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_bytes(pickle.dumps(loaded))
    crops: dict[str, list] = {"train": [], "val": [], "test": []}
    for rec, crop in zip(records, loaded, strict=True):
        if holdout is None or rec.patient != patient_of(holdout):
            crops[splits[rec.id]].append(crop)
    return crops


@torch.no_grad()
def predict(net: NoduleNet, x: np.ndarray, batch: int = 64) -> np.ndarray:
    net.eval()
    out = [torch.softmax(net(torch.from_numpy(x[i : i + batch]))[0], 1)[:, 1].numpy()
           for i in range(0, len(x), batch)]
    return np.concatenate(out) if out else np.zeros(0)


def previous_model_scores(negatives: np.ndarray, path: Path | None) -> np.ndarray:
    """Scores of the previously shipped model on the scan negatives (the first hard-negative ranking)."""
    from ai.training.evaluate import cpu_session

    if path is None or not path.is_file():
        return np.zeros(len(negatives))
    session = cpu_session(path, threads=1)
    scores = []
    for i in range(0, len(negatives), 64):
        logits = session.run(["logits"], {"image": negatives[i : i + 64]})[0]
        e = np.exp(logits - logits.max(1, keepdims=True))
        scores.append(e[:, 1] / e.sum(1))
    return np.concatenate(scores) if scores else np.zeros(0)


def scan_negative_batch(negatives: np.ndarray, hard: np.ndarray, rng: np.random.Generator) -> list:
    """Half uniform, half from the highest-scoring quarter; back to HU for augmentation."""
    n = min(SCAN_NEGATIVES_PER_EPOCH, len(negatives))
    top = np.argsort(-hard)[: max(1, len(hard) // 4)]
    idx = np.r_[rng.choice(len(negatives), n - n // 2, replace=False), rng.choice(top, n // 2)]
    return [negatives[i, 0] * 1400.0 - 1000.0 for i in idx]


def centre_patch(cube: np.ndarray, rng: np.random.Generator, jitter: int) -> np.ndarray:
    """The PATCH³ patch at the centre of a CUBE³ cube, moved by up to ± ``jitter`` voxels per axis."""
    lo = (CUBE - PATCH) // 2 + rng.integers(-jitter, jitter + 1, 3)
    return cube[lo[0] : lo[0] + PATCH, lo[1] : lo[1] + PATCH, lo[2] : lo[2] + PATCH]


def scan_positive_batch(scans: list[ScanData], rng: np.random.Generator) -> list:
    out = []
    for scan in scans:
        for cube, diameter in zip(scan.nodule_cubes, scan.nodule_diameters, strict=True):
            for _ in range(SCAN_POSITIVE_COPIES):
                out.append(cut(centre_patch(cube, rng, 3), float(diameter), rng))
    return out


def pasted_positive_batch(crops: list, scans: list, fraction: float, rng: np.random.Generator) -> list:
    """``fraction`` of the training crops' nodules, each pasted into a random training scan
    (:mod:`ai.training.nodule_paste`), cut ± 2 mm around it like a candidate of its size."""
    out = []
    if not scans or fraction <= 0:
        return out
    for i in rng.choice(len(crops), size=round(fraction * len(crops)), replace=False):
        cube = nodule_paste.pasted_cube(scans[rng.integers(len(scans))], crops[i], rng)
        out.append(cut(centre_patch(cube, rng, 2), 2 * crops[i].radius, rng))
    return out


def crop_extents(crops: list) -> np.ndarray:
    """(N, P, P, P) bool: where each training crop has real voxels in the patch around its nodule."""
    return np.stack([extract(np.ones(c.hu.shape, np.float32), c.centre, fill=0.0) > 0 for c in crops])


def like_a_crop(patches: list, extents: np.ndarray | None, rng: np.random.Generator) -> list:
    """With probability :data:`CROP_EXTENT_P`, fill a scan patch beyond a random training crop's extent,
    so that crop-edge fill appears in scan patches of both classes and stops telling crops (half of them
    nodules) from scans (nearly all background)."""
    if extents is None:
        return patches
    return [np.where(extents[rng.integers(len(extents))], p, np.float32(FILL_HU))
            if rng.random() < CROP_EXTENT_P else p for p in patches]


def epoch_data(crops: list, scans: list[ScanData], negatives: np.ndarray, hard: np.ndarray,
               rng: np.random.Generator, extents: np.ndarray | None = None,
               pasting: tuple[list, float] = ([], 0.0)) -> tuple[np.ndarray, np.ndarray]:
    x_crop, y_crop = sample_epoch(crops, rng, neg_per_crop=CROP_NEGATIVES)
    neg = like_a_crop(scan_negative_batch(negatives, hard, rng), extents, rng)
    pos = like_a_crop(scan_positive_batch(scans, rng), extents, rng)
    pos += pasted_positive_batch(crops, *pasting, rng)
    x_scan = window(np.stack([augment(p, rng) for p in neg + pos]))[:, None].astype(np.float32)
    y_scan = np.r_[np.zeros(len(neg), int), np.ones(len(pos), int)]
    return np.concatenate([x_crop, x_scan]), np.r_[y_crop, y_scan]


def train(holdout: str | None, epochs: int, batch: int, lr: float, seed: int, out: Path,
          init: Path | None, train_first_block: bool = False, crop_fill: bool = False,
          paste: float = 0.0) -> dict:
    setup(NAME, seed, threads=1)
    out.mkdir(parents=True, exist_ok=True)
    crops = load_crops(holdout)
    scans = [load_scan(s) for s in TRAIN_SCANS if s != holdout]
    negatives = np.concatenate([s.patches[s.labels == 0] for s in scans])
    log.info("crops train %d val %d; scans %s: %d negatives, %d nodules", len(crops["train"]),
             len(crops["val"]), [s.name for s in scans], len(negatives),
             sum(len(s.nodule_cubes) for s in scans))
    xv, yv = sample_epoch(crops["val"], np.random.default_rng(seed + 999), neg_per_crop=4)
    hard = previous_model_scores(negatives, init)
    extents = crop_extents(crops["train"]) if crop_fill else None
    pasting = ([nodule_paste.load(s) for s in TRAIN_SCANS if s != holdout] if paste else [], paste)
    net = load_onnx_weights(NoduleNet(), init) if init else NoduleNet()
    for param in net.features[0].parameters():
        param.requires_grad = bool(init is None or train_first_block)
    opt = torch.optim.AdamW([p for p in net.parameters() if p.requires_grad], lr=lr, weight_decay=1e-4)
    history = []
    for epoch in range(epochs):
        timer = Timer()
        for group in opt.param_groups:
            group["lr"] = lr * 0.5 * (1 + np.cos(np.pi * epoch / epochs))
        rng = np.random.default_rng(seed * 1000 + epoch)
        x, y = epoch_data(crops["train"], scans, negatives, hard, rng, extents, pasting)
        loss = _epoch(net, opt, x, y, batch, rng, frozen_bn=init is not None)
        if (epoch + 1) % REMINE_EVERY == 0:
            hard = predict(net, negatives)
        auc = roc_auc(yv, predict(net, xv))
        torch.save(net.state_dict(), out / "last.pt")
        history.append({"epoch": epoch, "loss": round(loss, 4), "val_crop_auc": round(auc, 4),
                        "minutes": timer.minutes()})
        log.info("%s epoch %d %.1f min loss %.4f val crop auc %.4f", holdout or "all", epoch, timer.minutes(),
                 loss, auc)
    return {"holdout": holdout, "history": history, "n_scan_negatives": int(len(negatives))}


def _epoch(net: NoduleNet, opt, x: np.ndarray, y: np.ndarray, batch: int, rng: np.random.Generator,
           frozen_bn: bool) -> float:
    net.train()
    if frozen_bn:
        freeze_batch_norm(net)
    order = rng.permutation(len(x))
    total = 0.0
    weight = torch.tensor([1.0, 2.0])
    steps = len(x) // batch
    for step in range(steps):
        idx = order[step * batch : (step + 1) * batch]
        logits, _ = net(torch.from_numpy(x[idx]))
        loss = F.cross_entropy(logits, torch.from_numpy(y[idx]), weight=weight)
        opt.zero_grad()
        loss.backward()
        opt.step()
        total += loss.item()
        if step % 20 == 0:
            log.info("  step %d/%d loss %.4f", step, steps, loss.item())
    return total / max(1, steps)


def run_dir(holdout: str | None) -> Path:
    return WORK / NAME / (f"holdout-{holdout}" if holdout else "all")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--holdout", choices=TRAIN_SCANS, default=None)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--init", default="",
                        help="one-net ONNX NoduleNet to fine-tune from (default: train from scratch)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--train-first-block", action="store_true",
                        help="train the first convolution block too when starting from --init")
    parser.add_argument("--crop-fill", action="store_true",
                        help="half the scan patches get a random training crop's edge fill (like_a_crop)")
    parser.add_argument("--paste", type=float, default=0.0,
                        help="fraction of the training crops' nodules pasted into the training scans per "
                             "epoch (ai.training.nodule_paste)")
    args = parser.parse_args()
    timer = Timer()
    init = Path(args.init) if args.init else None
    info = train(args.holdout, args.epochs, args.batch, args.lr, args.seed, run_dir(args.holdout), init,
                 args.train_first_block, args.crop_fill, args.paste)
    log.info("training done in %.1f min", timer.minutes())
    command = "python -m ai.training.nodule" + (f" --holdout {args.holdout}" if args.holdout else "")
    info.update(command=command, args={k: str(v) for k, v in vars(args).items()},
                wall_minutes=timer.minutes())
    save_json(run_dir(args.holdout) / "train_info.json", info)


if __name__ == "__main__":
    main()
