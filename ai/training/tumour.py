"""Train the brain-MRI tumour model (type + box + CAM): ``python -m ai.training.tumour [--epochs N]``.

Fine-tunes ImageNet-pretrained EfficientNet-Lite0 at 224² on ``brain-tumor-mri`` (stem and blocks up to
stride 8 frozen, their features cached for each slice and its mirror image; the rest trained);
split by blocks of neighbouring image ids (no patient IDs in the source); best epoch chosen on
validation; test touched once at the end by :mod:`ai.training.tumour_eval`.
"""

from __future__ import annotations

import argparse
import logging

import numpy as np
import torch
import torch.nn.functional as F

from ai.datasets import TUMOUR_CLASSES, assign_splits, read_brain_tumor, read_split_csv, write_split_csv
from ai.training.common import (
    LABELLED,
    MODELS,
    WORK,
    Timer,
    mid_feature_cache,
    resized_cache,
    save_json,
    setup,
)
from ai.training.tumour_model import TumourNet, giou_loss

NAME = "tumour-mri"
SIZE = 224
FROZEN_BLOCKS = 5  # stem + blocks 0-4 (up to stride 8) frozen; their output is cached
CAM_WEIGHT = 0.5  # weight of the loss that keeps the true class's CAM mass inside the box
log = logging.getLogger("radsight.train")


def load_data() -> tuple[list, np.ndarray, np.ndarray, np.ndarray, dict[str, str]]:
    records = read_brain_tumor(LABELLED / "brain-tumor-mri")
    split_csv = MODELS / NAME / "split.csv"
    splits = read_split_csv(split_csv) if split_csv.is_file() else assign_splits(records, seed=0)
    if not split_csv.is_file():
        write_split_csv(split_csv, records, splits)
    images = resized_cache("brain", records, SIZE)
    labels = np.array([r.label_index for r in records])
    boxes = np.array([_cxcywh(r.boxes[0]) for r in records], np.float32)
    return records, images, labels, boxes, splits


def _cxcywh(box: tuple[float, float, float, float], size: float = 512.0) -> list[float]:
    x0, y0, x1, y1 = (v / size for v in box)
    return [(x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0]


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


def cam_in_box_loss(cam: torch.Tensor, y: torch.Tensor, cells: torch.Tensor) -> torch.Tensor:
    """−log of the true class's spatial-softmax CAM mass inside the box: the map must point at the lesion."""
    n, _, h, w = cam.shape
    log_p = torch.log_softmax(cam[torch.arange(n), y].reshape(n, -1) * (h * w), dim=1)
    return -torch.logsumexp(log_p.masked_fill(~cells, -1e4), dim=1).mean()


def loss_fn(net: TumourNet, mid: torch.Tensor, y: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    logits, cam, box, heat = net.forward_early(mid)
    grid = int(round(heat.shape[1] ** 0.5))
    cls = F.cross_entropy(logits, y, label_smoothing=0.05)
    loc = 5 * F.l1_loss(box, b) + 2 * giou_loss(box, b) + 0.5 * F.cross_entropy(heat, centre_cells(b, grid))
    return cls + loc + CAM_WEIGHT * cam_in_box_loss(cam, y, box_cells(b, cam.shape[-1]))


@torch.no_grad()
def predict(net: TumourNet, mids: np.ndarray, batch: int = 64) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Logits, boxes and CAMs from cached stride-8 features (N, 40, 28, 28)."""
    net.eval()
    logits, boxes, cams = [], [], []
    for i in range(0, len(mids), batch):
        lo, cam, box, _ = net.forward_early(torch.from_numpy(mids[i : i + batch]).float())
        logits.append(lo.numpy())
        boxes.append(box.numpy())
        cams.append(cam.numpy())
    return np.concatenate(logits), np.concatenate(boxes), np.concatenate(cams)


def iou_cxcywh(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a0, a1 = a[:, :2] - a[:, 2:] / 2, a[:, :2] + a[:, 2:] / 2
    b0, b1 = b[:, :2] - b[:, 2:] / 2, b[:, :2] + b[:, 2:] / 2
    inter = np.clip(np.minimum(a1, b1) - np.maximum(a0, b0), 0, None).prod(1)
    return inter / (a[:, 2:].prod(1) + b[:, 2:].prod(1) - inter + 1e-9)


def shift_features(mid: torch.Tensor, boxes: torch.Tensor, gen: torch.Generator) -> tuple[torch.Tensor, ...]:
    """Shift each feature map by −1..1 cells in x and y (zero fill); boxes follow."""
    n, _, h, w = mid.shape
    shifts = torch.randint(-1, 2, (n, 2), generator=gen)
    padded = F.pad(mid, (1, 1, 1, 1))
    out = torch.stack([padded[i, :, 1 - dy : 1 - dy + h, 1 - dx : 1 - dx + w]
                       for i, (dx, dy) in enumerate(shifts.tolist())])
    moved = boxes.clone()
    moved[:, 0] = (boxes[:, 0] + shifts[:, 0] / w).clamp(0, 1)
    moved[:, 1] = (boxes[:, 1] + shifts[:, 1] / h).clamp(0, 1)
    return out, moved


def train(epochs: int, batch: int, lr: float, seed: int) -> None:
    work = setup(NAME, seed)
    records, images, labels, boxes, splits = load_data()
    tr = np.array([splits[r.id] == "train" for r in records])
    va = np.array([splits[r.id] == "val" for r in records])
    log.info("train %d val %d test %d", tr.sum(), va.sum(), len(records) - tr.sum() - va.sum())
    net = TumourNet(len(TUMOUR_CLASSES), SIZE)
    mids = mid_feature_cache("brain", net.trunk, images, stage="early")
    net.trunk.freeze_early(FROZEN_BLOCKS)
    opt = torch.optim.AdamW([p for p in net.parameters() if p.requires_grad], lr=lr, weight_decay=1e-4)
    steps = epochs * (int(tr.sum()) // batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.1)
    gen = torch.Generator().manual_seed(seed)
    flipped = boxes.copy()
    flipped[:, 0] = 1 - flipped[:, 0]
    data = (mids[:, tr], labels[tr], np.stack([boxes[tr], flipped[tr]]))
    best = -1.0
    for epoch in range(epochs):
        timer = Timer()
        _epoch(net, opt, sched, data, batch, gen, np.random.default_rng(seed * 1000 + epoch))
        score = _validate(net, mids[0, va], labels[va], boxes[va])
        if score["select"] > best:
            best = score["select"]
            torch.save(net.state_dict(), work / "best.pt")
        log.info("epoch %d %.1f min val %s", epoch, timer.minutes(), score)


def _epoch(net, opt, sched, data, batch, gen, rng) -> None:
    mids, yi, bi = data
    net.train()
    net.trunk.frozen_eval(FROZEN_BLOCKS)
    order = rng.permutation(mids.shape[1])
    views = rng.integers(0, 2, mids.shape[1])
    total, n_steps = 0.0, mids.shape[1] // batch
    for step in range(n_steps):
        idx = order[step * batch : (step + 1) * batch]
        mid = torch.from_numpy(mids[views[idx], idx]).float()
        b = torch.from_numpy(bi[views[idx], idx])
        mid, b = shift_features(mid, b, gen)
        mid = F.dropout2d(mid, 0.1)
        loss = loss_fn(net, mid, torch.from_numpy(yi[idx]), b)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        total += loss.item()
        if step % 20 == 0:
            log.info("step %d/%d loss %.3f", step, n_steps, total / (step + 1))


def _validate(net, mids, labels, boxes) -> dict[str, float]:
    logits, pred_boxes, cams = predict(net, mids)
    pred = logits.argmax(1)
    acc = float((pred == labels).mean())
    rec = float((iou_cxcywh(pred_boxes, boxes) >= 0.5).mean())
    grid = cams.shape[-1]
    peak = cams[np.arange(len(pred)), pred].reshape(len(pred), -1).argmax(1)
    cells = box_cells(torch.from_numpy(boxes), grid).numpy()
    hit = float(cells[np.arange(len(pred)), peak].mean())
    return {"accuracy": round(acc, 4), "iou50_recall": round(rec, 4), "cam_cell_in_box": round(hit, 4),
            "select": acc + rec + hit}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    timer = Timer()
    train(args.epochs, args.batch, args.lr, args.seed)
    log.info("training done in %.1f min", timer.minutes())
    info = {"command": "python -m ai.training.tumour", "args": vars(args), "wall_minutes": timer.minutes()}
    save_json(WORK / NAME / "train_info.json", info)


if __name__ == "__main__":
    main()
