"""Train the radiograph fracture model: ``python -m ai.training.fracture [--epochs N] [--size S]``.

Fine-tunes ImageNet-pretrained EfficientNet-Lite0 on FracAtlas (letterboxed to S², default 320) for
fracture present/absent, with the fracture boxes as an auxiliary mask target so that the class
activation map points at the fracture. Split by blocks of neighbouring image ids (no patient IDs).
"""

from __future__ import annotations

import argparse
import logging

import numpy as np
import torch
import torch.nn.functional as F

from ai.datasets import assign_splits, read_fracatlas, read_split_csv, write_split_csv
from ai.training.augment import random_affine, random_intensity
from ai.training.common import LABELLED, MODELS, Timer, resized_cache, roc_auc, setup
from ai.training.fracture_model import FractureNet

NAME = "fracture-radiograph"
FROZEN_BLOCKS = 5
CLASS_WEIGHT = (1.0, 2.0)
log = logging.getLogger("radsight.train")


def load_data(size: int) -> tuple[list, np.ndarray, np.ndarray, np.ndarray, dict[str, str]]:
    records = read_fracatlas(LABELLED / "fracatlas")
    split_csv = MODELS / NAME / "split.csv"
    splits = read_split_csv(split_csv) if split_csv.is_file() else assign_splits(records, seed=0)
    if not split_csv.is_file():
        write_split_csv(split_csv, records, splits)
    images = resized_cache("fracatlas", records, size)
    masks = np.stack([box_mask(r, size) for r in records])
    labels = np.array([r.label_index for r in records])
    return records, images, masks, labels, splits


def box_mask(record, size: int) -> np.ndarray:
    """uint8 (size, size) mask of the record's boxes on the letterboxed grid."""
    mask = np.zeros((size, size), np.uint8)
    if not record.boxes:
        return mask
    h, w = record.load().array.shape
    scale = size / max(h, w)
    pad_x, pad_y = (size - round(w * scale)) // 2, (size - round(h * scale)) // 2
    for x0, y0, x1, y1 in record.boxes:
        c0, r0 = int(x0 * scale + pad_x), int(y0 * scale + pad_y)
        c1, r1 = int(np.ceil(x1 * scale + pad_x)), int(np.ceil(y1 * scale + pad_y))
        mask[max(r0, 0) : max(r1, r0 + 1), max(c0, 0) : max(c1, c0 + 1)] = 1
    return mask


def loss_fn(net: FractureNet, x: torch.Tensor, m: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    logits, _, mask_logits = net(x)
    target = F.adaptive_max_pool2d(m, mask_logits.shape[-2:])[:, 0]
    weight = torch.tensor(CLASS_WEIGHT)
    cls = F.cross_entropy(logits, y, weight=weight, label_smoothing=0.05)
    aux = F.binary_cross_entropy_with_logits(mask_logits, target, pos_weight=torch.tensor(10.0))
    return cls + 0.5 * aux


@torch.no_grad()
def predict(net: FractureNet, images: np.ndarray, batch: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """Fracture probability and max of the auxiliary mask logits per image."""
    net.eval()
    probs, mask_max = [], []
    for i in range(0, len(images), batch):
        x = torch.from_numpy(images[i : i + batch]).float().div(255).unsqueeze(1)
        logits, _, mask_logits = net(x)
        probs.append(torch.softmax(logits, 1)[:, 1].numpy())
        mask_max.append(mask_logits.flatten(1).amax(1).numpy())
    return np.concatenate(probs), np.concatenate(mask_max)


def train(epochs: int, batch: int, lr: float, seed: int, size: int) -> None:
    work = setup(NAME, seed)
    records, images, masks, labels, splits = load_data(size)
    tr = np.array([splits[r.id] == "train" for r in records])
    va = np.array([splits[r.id] == "val" for r in records])
    log.info("train %d val %d, size %d", tr.sum(), va.sum(), size)
    net = FractureNet(size)
    net.trunk.freeze_early(FROZEN_BLOCKS)
    opt = torch.optim.AdamW([p for p in net.parameters() if p.requires_grad], lr=lr, weight_decay=1e-4)
    steps = epochs * (int(tr.sum()) // batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.1)
    start, best = _resume(work, net, opt, sched)
    gen = torch.Generator().manual_seed(seed)
    for epoch in range(start, epochs):
        timer = Timer()
        _epoch(net, opt, sched, (images[tr], masks[tr], labels[tr]), batch, gen, epoch, seed)
        probs, mask_max = predict(net, images[va])
        auc, auc_mask = roc_auc(labels[va], probs), roc_auc(labels[va], mask_max)
        if auc > best:
            best = auc
            torch.save(net.state_dict(), work / "best.pt")
        torch.save({"net": net.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(),
                    "epoch": epoch + 1, "best": best}, work / "last.pt")
        log.info("epoch %d %.1f min val auc %.4f (mask-max auc %.4f)", epoch, timer.minutes(), auc, auc_mask)


def _epoch(net, opt, sched, data, batch, gen, epoch, seed) -> None:
    xi, mi, yi = data
    net.train()
    net.trunk.frozen_eval(FROZEN_BLOCKS)
    order = np.random.default_rng(seed * 1000 + epoch).permutation(len(xi))
    total, n_steps = 0.0, len(xi) // batch
    for step in range(n_steps):
        idx = order[step * batch : (step + 1) * batch]
        x = torch.from_numpy(np.stack([xi[idx], mi[idx] * 255], 1)).float().div(255)
        x, _ = random_affine(x, None, gen, scale=0.15, shift=0.06)
        img, m = random_intensity(x[:, :1], gen), (x[:, 1:] > 0.5).float()
        loss = loss_fn(net, img, m, torch.from_numpy(yi[idx]))
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        total += loss.item()
        if step % 20 == 0:
            log.info("epoch %d step %d/%d loss %.4f", epoch, step, n_steps, total / (step + 1))


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
    parser.add_argument("--size", type=int, default=320)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    timer = Timer()
    train(args.epochs, args.batch, args.lr, args.seed, args.size)
    log.info("training done in %.1f min", timer.minutes())


if __name__ == "__main__":
    main()
