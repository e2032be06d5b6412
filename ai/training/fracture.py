"""Train the radiograph fracture detector: ``python -m ai.training.fracture [--epochs N]``.

EfficientNet-Lite0 (ImageNet weights) on FracAtlas letterboxed to 320²: stem and blocks up to stride 16
frozen and cached (:mod:`ai.training.fracture_data`); the stride-32 blocks, a top-down fused map and two
heads trained — an image-level fracture / none head (with its CAM, for triage) and a CenterNet-style
detection head at stride 8 (centre heat, offset, log size) on the FracAtlas boxes. Split by blocks of
neighbouring image ids (no patient IDs); best epoch by validation AUC + AP50.
"""

from __future__ import annotations

import argparse
import logging

import numpy as np
import torch
import torch.nn.functional as F

from ai.box_decode import decode_centres
from ai.training.common import WORK, Timer, roc_auc, save_json, setup
from ai.training.fracture_data import NAME, SIZE, STRIDE, FractureData, all_targets, feature_cache, load
from ai.training.fracture_model import FractureNet, focal_loss
from ai.training.top_cache import top_cache
from ai.training.tumour import shift_maps
from ai.validation.detection import average_precision, recall_and_fp, threshold_for_fp

# The whole trunk is frozen (ImageNet weights); its stride-8, -16 and -32 outputs are cached.
CLASS_WEIGHT = (1.0, 1.0)  # balanced by sampling: each epoch all fractured images and twice as many others
NEGATIVES_PER_POSITIVE = 2
log = logging.getLogger("radsight.train")


def loss_fn(
    net: FractureNet, early: torch.Tensor, mid: torch.Tensor, t: dict[str, torch.Tensor], top=None
) -> torch.Tensor:
    logits, _, det = net.forward_cached(early, mid, top)
    cls = F.cross_entropy(logits, t["y"], weight=torch.tensor(CLASS_WEIGHT), label_smoothing=0.05)
    heat = focal_loss(det[:, 0], t["heat"], torch.ones(len(det), dtype=torch.bool))
    mask = t["mask"]
    reg = det[:, 1:].permute(0, 2, 3, 1)[mask]
    target = t["reg"].permute(0, 2, 3, 1)[mask]
    box = F.l1_loss(reg, target) if len(reg) else det.sum() * 0.0
    return cls + heat + box


@torch.no_grad()
def predict(
    net: FractureNet, early: np.ndarray, mid: np.ndarray, top: np.ndarray, batch: int = 64
) -> dict:
    """Fracture probability per image and decoded boxes (letterbox pixels) with scores."""
    net.eval()
    probs, dets = [], []
    for i in range(0, len(mid), batch):
        logits, _, det = net.forward_cached(
            *(torch.from_numpy(a[i : i + batch]).float() for a in (early, mid, top))
        )
        probs.extend(torch.softmax(logits, 1)[:, 1].tolist())
        heat, reg = torch.sigmoid(det[:, 0]).numpy(), det[:, 1:].numpy()
        dets.extend(decode_centres(heat[k], reg[k], STRIDE) for k in range(len(det)))
    return {"prob": probs, "dets": dets}


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


def train(epochs: int, batch: int, lr: float, seed: int) -> None:
    work = setup(NAME, seed, threads=1)  # one thread: spinning OpenMP threads lose on oversubscribed cores
    data: FractureData = load()
    tr, va = data.split == "train", data.split == "val"
    log.info("train %d val %d, size %d", tr.sum(), va.sum(), SIZE)
    net = FractureNet(SIZE)
    early, mid = feature_cache(net.trunk, data.images, data.split != "test")
    top = top_cache("fracture_det_320", net.trunk, mid, data.split != "test")
    targets = all_targets(data)
    net.trunk.requires_grad_(False)
    opt = torch.optim.AdamW([p for p in net.parameters() if p.requires_grad], lr=lr, weight_decay=1e-4)
    steps = epochs * ((1 + NEGATIVES_PER_POSITIVE) * int((data.labels[tr] == 1).sum()) // batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.1)
    gen = torch.Generator().manual_seed(seed)
    train_set = {
        "early": early[:, tr],
        "mid": mid[:, tr],
        "top": top[:, tr],
        "y": data.labels[tr],
        **{k: v[:, tr] for k, v in targets.items()},
    }
    val_boxes = [b for b, keep in zip(data.boxes, va, strict=True) if keep]
    best = -1.0
    for epoch in range(epochs):
        timer = Timer()
        _epoch(net, opt, sched, train_set, batch, gen, np.random.default_rng(seed * 1000 + epoch))
        out = predict(net, early[0, va], mid[0, va], top[0, va])
        score = detection_scores(out, data.labels[va], val_boxes)
        if score["auc"] + score["ap50"] > best:
            best = score["auc"] + score["ap50"]
            torch.save(net.state_dict(), work / "best.pt")
        log.info("epoch %d %.1f min val %s", epoch, timer.minutes(), score)


def _epoch(net, opt, sched, train_set, batch, gen, rng) -> None:
    net.train()
    net.trunk.eval()
    n_views, n = train_set["mid"].shape[:2]
    positives = np.flatnonzero(train_set["y"] == 1)
    negatives = rng.choice(
        np.flatnonzero(train_set["y"] == 0), NEGATIVES_PER_POSITIVE * len(positives), replace=False
    )
    order, views = rng.permutation(np.concatenate([positives, negatives])), rng.integers(0, n_views, n)
    total, n_steps = 0.0, len(order) // batch
    for step in range(n_steps):
        idx = order[step * batch : (step + 1) * batch]
        shifts = torch.randint(-1, 2, (len(idx), 2), generator=gen).tolist()
        pick = {
            k: torch.from_numpy(train_set[k][views[idx], idx])
            for k in ("early", "mid", "top", "heat", "reg", "mask")
        }  # shifts of -1..1 stride-32 cells: 2 stride-16 and 4 stride-8 cells
        early = F.dropout2d(shift_maps(pick["early"].float(), shifts, 4), 0.1)
        mid = F.dropout2d(shift_maps(pick["mid"].float(), shifts, 2), 0.1)
        top = F.dropout2d(shift_maps(pick["top"].float(), shifts, 1), 0.1)
        t = {
            "y": torch.from_numpy(train_set["y"][idx]),
            "heat": shift_maps(pick["heat"][:, None], shifts, 4)[:, 0],
            "reg": shift_maps(pick["reg"], shifts, 4),
            "mask": shift_maps(pick["mask"][:, None].float(), shifts, 4)[:, 0] > 0.5,
        }
        loss = loss_fn(net, early, mid, t, top)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        total += loss.item()
        if step % 10 == 0:
            log.info("step %d/%d loss %.4f", step, n_steps, total / (step + 1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    timer = Timer()
    train(args.epochs, args.batch, args.lr, args.seed)
    log.info("training done in %.1f min", timer.minutes())
    info = {"command": "python -m ai.training.fracture", "args": vars(args), "wall_minutes": timer.minutes()}
    save_json(WORK / NAME / "train_info.json", info)


if __name__ == "__main__":
    main()
