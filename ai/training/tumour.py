"""Train the brain-MRI tumour model (type + box + CAM): ``python -m ai.training.tumour [--epochs N]``.

Fine-tunes ImageNet-pretrained EfficientNet-Lite0 at 224² on ``brain-tumor-mri``; split by blocks of
neighbouring image ids (no patient IDs in the source); best epoch chosen on validation; test touched
once at the end by :mod:`ai.training.tumour_eval`.
"""

from __future__ import annotations

import argparse
import logging

import numpy as np
import torch
import torch.nn.functional as F

from ai.datasets import TUMOUR_CLASSES, assign_splits, read_brain_tumor, read_split_csv, write_split_csv
from ai.training.augment import random_affine, random_intensity
from ai.training.common import LABELLED, MODELS, Timer, resized_cache, setup
from ai.training.tumour_model import TumourNet, giou_loss

NAME = "tumour-mri"
SIZE = 224
FROZEN_BLOCKS = 5
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


def loss_fn(net: TumourNet, x: torch.Tensor, y: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    logits, _, box, heat = net(x)
    grid = int(round(heat.shape[1] ** 0.5))
    cls = F.cross_entropy(logits, y, label_smoothing=0.05)
    loc = 5 * F.l1_loss(box, b) + 2 * giou_loss(box, b) + 0.5 * F.cross_entropy(heat, centre_cells(b, grid))
    return cls + loc


@torch.no_grad()
def predict(net: TumourNet, images: np.ndarray, batch: int = 64) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    net.eval()
    logits, cams, boxes = [], [], []
    for i in range(0, len(images), batch):
        x = torch.from_numpy(images[i : i + batch]).float().div(255).unsqueeze(1)
        lo, cam, box, _ = net(x)
        logits.append(lo.numpy()), cams.append(cam.numpy()), boxes.append(box.numpy())
    return np.concatenate(logits), np.concatenate(cams), np.concatenate(boxes)


def iou_cxcywh(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a0, a1 = a[:, :2] - a[:, 2:] / 2, a[:, :2] + a[:, 2:] / 2
    b0, b1 = b[:, :2] - b[:, 2:] / 2, b[:, :2] + b[:, 2:] / 2
    inter = np.clip(np.minimum(a1, b1) - np.maximum(a0, b0), 0, None).prod(1)
    return inter / (a[:, 2:].prod(1) + b[:, 2:].prod(1) - inter + 1e-9)


def train(epochs: int, batch: int, lr: float, seed: int) -> None:
    work = setup(NAME, seed)
    records, images, labels, boxes, splits = load_data()
    tr = np.array([splits[r.id] == "train" for r in records])
    va = np.array([splits[r.id] == "val" for r in records])
    log.info("train %d val %d test %d", tr.sum(), va.sum(), len(records) - tr.sum() - va.sum())
    net = TumourNet(len(TUMOUR_CLASSES), SIZE)
    net.trunk.freeze_early(FROZEN_BLOCKS)
    params = [p for p in net.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=1e-4)
    steps = epochs * (int(tr.sum()) // batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.1)
    start, best = _resume(work, net, opt, sched)
    gen = torch.Generator().manual_seed(seed)
    xi, yi, bi = images[tr], labels[tr], boxes[tr]
    for epoch in range(start, epochs):
        timer = Timer()
        _epoch(net, opt, sched, xi, yi, bi, batch, gen, epoch, seed)
        score = _validate(net, images[va], labels[va], boxes[va])
        if score["select"] > best:
            best = score["select"]
            torch.save(net.state_dict(), work / "best.pt")
        torch.save({"net": net.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(),
                    "epoch": epoch + 1, "best": best}, work / "last.pt")
        log.info("epoch %d %.1f min val %s", epoch, timer.minutes(), score)


def _epoch(net, opt, sched, xi, yi, bi, batch, gen, epoch, seed) -> None:
    net.train()
    net.trunk.frozen_eval(FROZEN_BLOCKS)
    order = np.random.default_rng(seed + epoch).permutation(len(xi))
    total = 0.0
    n_steps = len(xi) // batch
    for step in range(n_steps):
        idx = order[step * batch : (step + 1) * batch]
        x = torch.from_numpy(xi[idx]).float().div(255).unsqueeze(1)
        b = torch.from_numpy(bi[idx])
        x, b = random_affine(x, b, gen)
        x = random_intensity(x, gen)
        loss = loss_fn(net, x, torch.from_numpy(yi[idx]), b)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        total += float(loss)
        if step % 20 == 0:
            log.info("epoch %d step %d/%d loss %.3f", epoch, step, n_steps, total / (step + 1))


def _validate(net, images, labels, boxes) -> dict[str, float]:
    logits, _, pred_boxes = predict(net, images)
    acc = float((logits.argmax(1) == labels).mean())
    rec = float((iou_cxcywh(pred_boxes, boxes) >= 0.5).mean())
    return {"accuracy": round(acc, 4), "iou50_recall": round(rec, 4), "select": acc + rec}


def _resume(work, net, opt, sched) -> tuple[int, float]:
    path = work / "last.pt"
    if not path.is_file():
        return 0, -1.0
    state = torch.load(path, weights_only=False)
    net.load_state_dict(state["net"])
    opt.load_state_dict(state["opt"])
    sched.load_state_dict(state["sched"])
    log.info("resumed at epoch %d", state["epoch"])
    return state["epoch"], state["best"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    timer = Timer()
    train(args.epochs, args.batch, args.lr, args.seed)
    log.info("training done in %.1f min", timer.minutes())


if __name__ == "__main__":
    main()
