"""Train the radiograph fracture detector: ``python -m ai.training.fracture [--epochs N]``.

EfficientNet-Lite0 (ImageNet weights) on FracAtlas letterboxed to 320²: stem and blocks up to stride 8
frozen and cached for each image and its mirror image (:mod:`ai.training.fracture_data`); the stride-16
and stride-32 blocks fine-tuned (a lower learning rate), a top-down fused map and two heads trained — an
image-level fracture / none head (with its CAM, for triage) and a CenterNet-style detection head at
stride 8 (centre heat, offset, log size) on the FracAtlas boxes. Split by blocks of neighbouring image ids
(no patient IDs); best epoch by validation AUC + AP50 (a checkpoint after every epoch).
"""

from __future__ import annotations

import argparse
import logging
import math
from datetime import UTC, datetime

import numpy as np
import torch
import torch.nn.functional as F

from ai.box_decode import decode_centres
from ai.training.common import WORK, Timer, optimiser_step, roc_auc, save_json, setup
from ai.training.fracture_data import (
    NAME,
    SIZE,
    STRIDE,
    FractureData,
    all_targets,
    cached_views,
    early_cache,
    load,
)
from ai.training.fracture_model import FractureNet, focal_loss
from ai.validation.detection import average_precision, recall_and_fp, threshold_for_fp

# Stem and stride-8 blocks frozen (cached); the stride-16 and stride-32 blocks fine-tuned at TRUNK_LR × lr.
TRUNK_LR = 0.2
SHIFT_CELLS = 4  # random shifts of up to ±4 stride-8 cells (±32 px) in x and y
CLASS_WEIGHT = (1.0, 1.0)  # balanced by sampling: each epoch all fractured images and twice as many others
NEGATIVES_PER_POSITIVE = 2
log = logging.getLogger("radsight.train")


def loss_fn(net: FractureNet, early: torch.Tensor, t: dict[str, torch.Tensor]) -> torch.Tensor:
    logits, _, det = net.forward_cached(early, net.trunk.middle(early))
    cls = F.cross_entropy(logits, t["y"], weight=torch.tensor(CLASS_WEIGHT), label_smoothing=0.05)
    heat = focal_loss(det[:, 0], t["heat"], torch.ones(len(det), dtype=torch.bool))
    mask = t["mask"]
    reg = det[:, 1:].permute(0, 2, 3, 1)[mask]
    target = t["reg"].permute(0, 2, 3, 1)[mask]
    box = F.l1_loss(reg, target) if len(reg) else det.sum() * 0.0
    return cls + heat + box


@torch.no_grad()
def predict(net: FractureNet, early: np.ndarray, batch: int = 64) -> dict:
    """Fracture probability per image and decoded boxes (letterbox pixels) with scores."""
    net.eval()
    probs, dets, maps = [], [], []
    for i in range(0, len(early), batch):
        x = torch.from_numpy(early[i : i + batch]).float()
        logits, _, det = net.forward_cached(x, net.trunk.middle(x))
        probs.extend(torch.softmax(logits, 1)[:, 1].tolist())
        heat, reg = torch.sigmoid(det[:, 0]).numpy(), det[:, 1:].numpy()
        dets.extend(decode_centres(heat[k], reg[k], STRIDE) for k in range(len(det)))
        maps.append(np.concatenate([heat[:, None], reg], axis=1).astype(np.float16))
    return {"prob": probs, "dets": dets, "maps": np.concatenate(maps)}


def detection_scores(out: dict[str, list], labels: np.ndarray, boxes: list) -> dict[str, float]:
    auc = roc_auc(labels, np.array(out["prob"]))
    auc_heat = roc_auc(labels, np.array([s.max() if len(s) else 0.0 for _, s in out["dets"]]))
    ap = average_precision(out["dets"], boxes, 0.5)
    ap30 = average_precision(out["dets"], boxes, 0.3)
    t = threshold_for_fp(out["dets"], boxes, 1.0, 0.3)
    rec30, fp = recall_and_fp(out["dets"], boxes, t, 0.3)
    return {
        "auc": round(auc, 4),
        "auc_max_box": round(auc_heat, 4),
        "ap50": round(ap, 4),
        "ap30": round(ap30, 4),
        "iou30_recall@1fp": round(rec30, 4),
        "fp_per_image": round(fp, 3),
        "box_threshold": round(t, 4),
    }


class DeadlineCosine:
    """Learning-rate factor: linear warm-up over WARMUP steps, then a cosine to FLOOR over ``total``
    planned steps; :meth:`replan` moves ``total`` to the epochs that still fit before a deadline."""

    WARMUP, FLOOR = 30, 0.02

    def __init__(self, total: int) -> None:
        self.total = total

    def __call__(self, step: int) -> float:
        if step < self.WARMUP:
            return (step + 1) / self.WARMUP
        progress = min(1.0, (step - self.WARMUP) / max(1, self.total - self.WARMUP))
        return self.FLOOR + (1 - self.FLOOR) * 0.5 * (1 + math.cos(math.pi * progress))

    def replan(self, done_epochs: int, epoch_s: float, left_s: float, per_epoch: int) -> int:
        """Epochs in all: those done and as many more as fit in ``left_s`` at ``epoch_s`` each (≥ done)."""
        epochs = done_epochs + max(0, int(left_s // max(epoch_s, 1.0)))
        self.total = max(epochs * per_epoch, self.WARMUP + 1)
        return epochs


def train(epochs: int, batch: int, lr: float, seed: int, until: datetime | None = None,
          init: str | None = None) -> None:
    """``epochs`` planned; with ``until`` (UTC) the plan is redone after every epoch to end by then."""
    work = setup(NAME, seed, threads=1)  # one thread: spinning OpenMP threads lose on oversubscribed cores
    data: FractureData = load()
    tr, va = data.split == "train", data.split == "val"
    log.info("train %d val %d, size %d", tr.sum(), va.sum(), SIZE)
    net = FractureNet(SIZE)
    early = early_cache(net.trunk, data.images, cached_views(data))  # the frozen stride-8 blocks
    if init:
        net.load_state_dict(torch.load(init, map_location="cpu"))
        log.info("weights from %s", init)
    targets = all_targets(data)
    per_epoch = (1 + NEGATIVES_PER_POSITIVE) * int((data.labels[tr] == 1).sum()) // batch
    plan = DeadlineCosine(epochs * per_epoch)
    opt, sched = _optimiser(net, lr, plan)
    gen = torch.Generator().manual_seed(seed)
    train_set = {
        "early": early[:, tr],
        "y": data.labels[tr],
        "views": cached_views(data)[:, tr],
        **{k: v[:, tr] for k, v in targets.items()},
    }
    val_boxes = [b for b, keep in zip(data.boxes, va, strict=True) if keep]
    best, epoch = -1.0, 0
    while epoch < epochs:
        timer = Timer()
        _epoch(net, opt, sched, train_set, batch, gen, np.random.default_rng(seed * 1000 + epoch))
        out = predict(net, early[0, va])
        score = detection_scores(out, data.labels[va], val_boxes)
        if score["auc"] + score["ap50"] > best:
            best = score["auc"] + score["ap50"]
            torch.save(net.state_dict(), work / "best.pt")
            np.savez(work / "best_val.npz", prob=np.array(out["prob"]), maps=out["maps"])
        log.info("epoch %d %.1f min val %s", epoch, timer.minutes(), score)
        epoch += 1
        if until is not None:
            left = (until - datetime.now(UTC)).total_seconds()
            epochs = plan.replan(epoch, timer.minutes() * 60, left, per_epoch)
            log.info("plan: %d epochs in all (%.0f s left)", epochs, left)


def _optimiser(net: FractureNet, lr: float, plan: DeadlineCosine):
    """AdamW over the heads (``lr``) and the stride-16/-32 blocks (``TRUNK_LR`` × lr), ``plan``'s schedule."""
    net.trunk.stem.requires_grad_(False)
    early = net.trunk.blocks[: net.trunk.EARLY_BLOCK + 1]
    early.requires_grad_(False)
    frozen = {id(p) for p in [*net.trunk.stem.parameters(), *early.parameters()]}
    trunk = [p for p in net.trunk.parameters() if id(p) not in frozen]
    trunk_ids = {id(p) for p in trunk}
    heads = [p for p in net.parameters() if id(p) not in frozen and id(p) not in trunk_ids]
    groups = [{"params": heads, "lr": lr}, {"params": trunk, "lr": lr * TRUNK_LR}]
    opt = torch.optim.AdamW(groups, lr=lr, weight_decay=1e-4)
    return opt, torch.optim.lr_scheduler.LambdaLR(opt, plan)


def _epoch(net, opt, sched, train_set, batch, gen, rng) -> None:
    net.train()
    net.trunk.stem.eval()
    net.trunk.blocks[: net.trunk.EARLY_BLOCK + 1].eval()
    n_views, n = train_set["early"].shape[:2]
    positives = np.flatnonzero(train_set["y"] == 1)
    negatives = rng.choice(
        np.flatnonzero(train_set["y"] == 0), NEGATIVES_PER_POSITIVE * len(positives), replace=False
    )
    order = rng.permutation(np.concatenate([positives, negatives]))
    views = rng.integers(0, n_views, n) * train_set["views"][1:].any(axis=0)  # mirror where cached
    total, n_steps = 0.0, len(order) // batch
    for step in range(n_steps):
        idx = order[step * batch : (step + 1) * batch]
        shifts = torch.randint(-SHIFT_CELLS, SHIFT_CELLS + 1, (len(idx), 2), generator=gen).tolist()
        pick = {k: torch.from_numpy(train_set[k][views[idx], idx]) for k in ("early", "heat", "reg", "mask")}
        early = F.dropout2d(shift_cells(pick["early"].float(), shifts), 0.1)
        t = {
            "y": torch.from_numpy(train_set["y"][idx]),
            "heat": shift_cells(pick["heat"][:, None], shifts)[:, 0],
            "reg": shift_cells(pick["reg"], shifts),
            "mask": shift_cells(pick["mask"][:, None].float(), shifts)[:, 0] > 0.5,
        }
        loss = loss_fn(net, early, t)
        total += optimiser_step(opt, sched, loss)
        if step % 10 == 0:
            log.info("step %d/%d loss %.4f", step, n_steps, total / (step + 1))


def shift_cells(maps: torch.Tensor, shifts: list) -> torch.Tensor:
    """Shift each (C, h, w) of (N, C, h, w) by its (dx, dy) cells, |d| ≤ SHIFT_CELLS, zero fill."""
    _, _, h, w = maps.shape
    p = SHIFT_CELLS
    padded = F.pad(maps, (p, p, p, p))
    return torch.stack(
        [padded[i, ..., p - dy : p - dy + h, p - dx : p - dx + w] for i, (dx, dy) in enumerate(shifts)]
    )


def _utc_today(hhmm: str) -> datetime:
    hour, minute = (int(v) for v in hhmm.split(":"))
    return datetime.now(UTC).replace(hour=hour, minute=minute, second=0, microsecond=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--until", help="UTC time HH:MM by which training should end (replans epochs)")
    parser.add_argument("--init", help="start from this state dict (e.g. a copy of the last best.pt)")
    args = parser.parse_args()
    timer = Timer()
    train(args.epochs, args.batch, args.lr, args.seed, _utc_today(args.until) if args.until else None,
          args.init)
    log.info("training done in %.1f min", timer.minutes())
    info = {"command": "python -m ai.training.fracture", "args": vars(args), "wall_minutes": timer.minutes()}
    save_json(WORK / NAME / "train_info.json", info)


if __name__ == "__main__":
    main()
