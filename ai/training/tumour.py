"""Train the brain-MRI tumour model (presence + type + box + CAM): ``python -m ai.training.tumour``.

Fine-tunes ImageNet-pretrained EfficientNet-Lite0 at 224² on brain-tumor-mri (type + box; every slice
has a tumour) and Br35H (tumour / no tumour from one source; boxes on the tumours). Stem and trunk
blocks 0-7 frozen, their stride-8 map and block 7's stride-16 output cached for a plain and an augmented
view of each slice (:mod:`ai.training.tumour_data`); blocks 8-15 (the 112-channel stride-16 stage and the
stride-32 blocks), the head conv and the heads trained, with a lower learning rate for the trunk blocks.
Each step draws one of the two views per slice and shifts the cached maps by up to one stride-16 cell.
Presence is weighted so that Br35H's two classes count as much as brain-tumor-mri's
positives (presence is measured on Br35H alone: the sources differ). Splits by blocks of neighbouring
ids (no patient IDs); best epoch chosen on validation; test measured once, through the product, by
``radsight validate``
(see :mod:`ai.training.tumour_export` and :mod:`ai.training.tumour_card`).
"""

from __future__ import annotations

import argparse
import logging

import numpy as np
import torch
import torch.nn.functional as F

from ai.datasets import TUMOUR_CLASSES
from ai.training.common import WORK, Timer, optimiser_step, roc_auc, save_json, setup
from ai.training.tumour_data import NAME, NO_TYPE, SIZE, TumourData, load, view_cache
from ai.training.tumour_model import FROZEN_BLOCKS, TumourNet, box_loss

TRUNK_LR_SHARE = 0.25  # the fine-tuned trunk blocks learn at this share of the heads' learning rate
CAM_WEIGHT = 0.5  # weight of the losses that keep the CAM mass inside the box
PRESENCE_WEIGHT = {(0, 1): 0.5, (1, 1): 3.0, (1, 0): 3.0}  # (source, presence) → loss weight
log = logging.getLogger("radsight.train")


def centre_cells(boxes: torch.Tensor, grid: int) -> torch.Tensor:
    col = (boxes[:, 0] * grid).long().clamp(0, grid - 1)
    row = (boxes[:, 1] * grid).long().clamp(0, grid - 1)
    return row * grid + col


def box_cells(boxes: torch.Tensor, grid: int) -> torch.Tensor:
    """(N, grid²) bool: cells whose centre lies in the (cx, cy, w, h) box, plus the centre's cell."""
    centres = (torch.arange(grid, dtype=boxes.dtype) + 0.5) / grid
    inside_x = (centres[None] - boxes[:, :1]).abs() <= boxes[:, 2:3] / 2
    inside_y = (centres[None] - boxes[:, 1:2]).abs() <= boxes[:, 3:4] / 2
    cells = (inside_y[:, :, None] & inside_x[:, None, :]).reshape(len(boxes), -1)
    cells[torch.arange(len(boxes)), centre_cells(boxes, grid)] = True
    return cells


def cam_in_box_loss(cam: torch.Tensor, cells: torch.Tensor) -> torch.Tensor:
    """−log of a (N, h, w) CAM's spatial-softmax mass inside the box cells (the map must point at the
    lesion)."""
    n, h, w = cam.shape
    if n == 0:
        return cam.sum() * 0.0
    log_p = torch.log_softmax(cam.reshape(n, -1) * (h * w), dim=1)
    return -torch.logsumexp(log_p.masked_fill(~cells, -1e4), dim=1).mean()


def loss_fn(
    net: TumourNet, early: torch.Tensor, low: torch.Tensor, batch: dict[str, torch.Tensor]
) -> torch.Tensor:
    presence, logits, cam, box, maps = net.forward_low(early, low)
    b, has_box, y = batch["box"], batch["has_box"], batch["type"]
    loss = (
        batch["weight"]
        * F.binary_cross_entropy_with_logits(presence, batch["presence"].float(), reduction="none")
    ).mean()
    if (y != NO_TYPE).any():
        loss = loss + F.cross_entropy(logits, y, ignore_index=NO_TYPE, label_smoothing=0.05)
    if has_box.any():
        tb = b[has_box]
        loss = loss + box_loss(box[has_box], maps[has_box], tb)
        cells = box_cells(tb, cam.shape[-1])
        loss = loss + CAM_WEIGHT * cam_in_box_loss(cam[has_box, 0], cells)
        typed = y[has_box] != NO_TYPE
        loss = loss + CAM_WEIGHT * cam_in_box_loss(cam[has_box][typed, 1 + y[has_box][typed]], cells[typed])
    return loss


@torch.no_grad()
def predict(net: TumourNet, early: np.ndarray, lows: np.ndarray, batch: int = 64) -> dict[str, np.ndarray]:
    """Presence probability, type logits, boxes and CAMs from cached frozen features."""
    net.eval()
    out: dict[str, list] = {"presence": [], "logits": [], "box": [], "cam": []}
    for i in range(0, len(lows), batch):
        presence, logits, cam, box, _ = net.forward_low(
            *(torch.from_numpy(a[i : i + batch]).float() for a in (early, lows))
        )
        for key, value in zip(out, (torch.sigmoid(presence), logits, box, cam), strict=True):
            out[key].append(value.numpy())
    return {k: np.concatenate(v) for k, v in out.items()}


def iou_cxcywh(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a0, a1 = a[:, :2] - a[:, 2:] / 2, a[:, :2] + a[:, 2:] / 2
    b0, b1 = b[:, :2] - b[:, 2:] / 2, b[:, :2] + b[:, 2:] / 2
    inter = np.clip(np.minimum(a1, b1) - np.maximum(a0, b0), 0, None).prod(1)
    return inter / (a[:, 2:].prod(1) + b[:, 2:].prod(1) - inter + 1e-9)


def shift_maps(maps: torch.Tensor, shifts: list, scale: int) -> torch.Tensor:
    """Shift each (C, h, w) map by ``scale`` × (dx, dy) cells (zero fill)."""
    _, _, h, w = maps.shape
    p = scale
    padded = F.pad(maps, (p, p, p, p))
    return torch.stack(
        [
            padded[i, ..., p - dy * scale : p - dy * scale + h, p - dx * scale : p - dx * scale + w]
            for i, (dx, dy) in enumerate(shifts)
        ]
    )


def shift_features(
    early: torch.Tensor, mid: torch.Tensor, boxes: torch.Tensor, gen: torch.Generator
) -> tuple[torch.Tensor, ...]:
    """Shift the stride-16 maps by −1..1 cells in x and y (the stride-8 maps by twice that); boxes
    follow (empty boxes stay empty)."""
    n, _, h, w = mid.shape
    shifts = torch.randint(-1, 2, (n, 2), generator=gen)
    early, out = shift_maps(early, shifts.tolist(), 2), shift_maps(mid, shifts.tolist(), 1)
    moved = boxes.clone()
    present = boxes[:, 2] > 0
    moved[:, 0] = torch.where(present, (boxes[:, 0] + shifts[:, 0] / w).clamp(0, 1), boxes[:, 0])
    moved[:, 1] = torch.where(present, (boxes[:, 1] + shifts[:, 1] / h).clamp(0, 1), boxes[:, 1])
    return early, out, moved


def train(epochs: int, batch: int, lr: float, seed: int, init: str | None = None) -> None:
    work = setup(NAME, seed, threads=1)  # one thread: spinning OpenMP threads lose on oversubscribed cores
    data = load()
    tr, va = data.split == "train", data.split == "val"
    log.info("train %d val %d test %d", tr.sum(), va.sum(), (data.split == "test").sum())
    net = TumourNet(len(TUMOUR_CLASSES), SIZE)
    cache = view_cache(net.trunk, data)  # blocks 0-7 keep their ImageNet weights in every checkpoint
    if init:
        net.load_state_dict(torch.load(init, map_location="cpu"))
        log.info("weights from %s", init)
    net.trunk.requires_grad_(False)
    trunk = net.trunk_trained()
    for p in trunk:
        p.requires_grad_(True)
    heads = [p for n, p in net.named_parameters() if not n.startswith("trunk.")]
    groups = [{"params": trunk, "lr": lr * TRUNK_LR_SHARE}, {"params": heads, "lr": lr}]
    opt = torch.optim.AdamW(groups, weight_decay=1e-4)
    steps = epochs * (int(tr.sum()) // batch)
    max_lr = [lr * TRUNK_LR_SHARE, lr]
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=max_lr, total_steps=steps, pct_start=0.1)
    gen = torch.Generator().manual_seed(seed)
    weights = np.array([PRESENCE_WEIGHT[(s, p)] for s, p in zip(data.source, data.presence, strict=True)])
    train_set = {
        "early": cache["early"][:, tr],
        "low": cache["low"][:, tr],
        "box": cache["boxes"][:, tr],
        "presence": data.presence[tr],
        "type": data.types[tr],
        "weight": weights[tr].astype(np.float32),
    }
    best = -1.0
    for epoch in range(epochs):
        timer = Timer()
        _epoch(net, opt, sched, train_set, batch, gen, np.random.default_rng(seed * 1000 + epoch))
        score = validate(net, cache["early"][0, va], cache["low"][0, va], data, va)
        if score["select"] > best:
            best = score["select"]
            torch.save(net.state_dict(), work / "best.pt")
            save_json(work / "best_epoch.json", {"epoch": epoch, **score})
        log.info("epoch %d %.1f min val %s", epoch, timer.minutes(), score)


def _batch(train_set: dict, idx: np.ndarray, views: np.ndarray, gen: torch.Generator) -> tuple:
    """Cached maps of one step (the drawn view per slice, shifted by up to one stride-16 cell) and
    its targets."""
    early, low = (torch.from_numpy(train_set[k][views, idx]).float() for k in ("early", "low"))
    early, low, box = shift_features(early, low, torch.from_numpy(train_set["box"][views, idx]), gen)
    item = {
        "box": box,
        "has_box": box[:, 2] > 0.01,
        **{k: torch.from_numpy(train_set[k][idx]) for k in ("presence", "type", "weight")},
    }
    return F.dropout2d(early, 0.1), F.dropout2d(low, 0.05), item


def _epoch(net, opt, sched, train_set, batch, gen, rng) -> None:
    net.train()
    net.trunk.frozen_eval(FROZEN_BLOCKS)
    n_views, n = train_set["low"].shape[:2]
    order, views = rng.permutation(n), rng.integers(0, n_views, n)
    total, n_steps, timer = 0.0, n // batch, Timer()
    for step in range(n_steps):
        idx = order[step * batch : (step + 1) * batch]
        early, low, item = _batch(train_set, idx, views[idx], gen)
        loss = loss_fn(net, early, low, item)
        total += optimiser_step(opt, sched, loss)
        if step % 10 == 0:
            log.info("step %d/%d loss %.3f (%.1f s/step)", step, n_steps, total / (step + 1),
                     timer.minutes() * 60 / (step + 1))


def validate(
    net: TumourNet, early: np.ndarray, lows: np.ndarray, data: TumourData, sel: np.ndarray
) -> dict[str, float]:
    return scores(predict(net, early, lows), data, sel)


def scores(out: dict[str, np.ndarray], data: TumourData, sel: np.ndarray) -> dict[str, float]:
    """Validation measures of :func:`predict`'s outputs on the rows ``sel`` (and the selection sum)."""
    src, pres, types = data.source[sel], data.presence[sel], data.types[sel]
    br = src == 1
    auc = roc_auc(pres[br], out["presence"][br])
    typed = types != NO_TYPE
    acc = float((out["logits"][typed].argmax(1) == types[typed]).mean())
    has_box = data.has_box[sel]
    rec = float((iou_cxcywh(out["box"][has_box], data.boxes[sel][has_box]) >= 0.5).mean())
    spec = float((out["presence"][br & (pres == 0)] < 0.5).mean())
    return {
        "br35h_presence_auc": round(auc, 4),
        "br35h_specificity@0.5": round(spec, 4),
        "type_accuracy": round(acc, 4),
        "iou50_recall": round(rec, 4),
        "select": 2 * auc + acc + rec,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--init", help="start from this state dict (e.g. a copy of the last best.pt)")
    args = parser.parse_args()
    timer = Timer()
    train(args.epochs, args.batch, args.lr, args.seed, args.init)
    log.info("training done in %.1f min", timer.minutes())
    info = {"command": "python -m ai.training.tumour", "args": vars(args), "wall_minutes": timer.minutes()}
    save_json(WORK / NAME / "train_info.json", info)


if __name__ == "__main__":
    main()
