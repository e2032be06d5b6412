"""Train the nodule candidate classifier: ``python -m ai.training.nodule [--epochs N]``.

A small 3D CNN from scratch on 32³ 1 mm patches from ``lidc-nodule-vois`` (positives: nodule centres;
negatives: structures and parenchyma ≥ r + 4 mm from the nodule, see :mod:`ai.training.nodule_data`).
Split by patient (70/15/15, seeded). Best epoch by validation ROC AUC of patches.
"""

from __future__ import annotations

import argparse
import logging
import pickle

import numpy as np
import torch
import torch.nn.functional as F

from ai.datasets import assign_splits, read_lidc_vois, read_split_csv, write_split_csv
from ai.training.common import (
    LABELLED,
    MODELS,
    WORK,
    Timer,
    roc_auc,
    save_json,
    setup,
)
from ai.training.nodule_data import load_crop, sample_epoch
from ai.training.nodule_model import NoduleNet

NAME = "nodule-ct"
log = logging.getLogger("radsight.train")


def load_crops() -> tuple[dict[str, list], dict[str, str]]:
    records = read_lidc_vois(LABELLED / "lidc-nodule-vois")
    split_csv = MODELS / NAME / "split.csv"
    splits = read_split_csv(split_csv) if split_csv.is_file() else assign_splits(records, seed=0)
    if not split_csv.is_file():
        write_split_csv(split_csv, records, splits)
    cache = WORK / "cache" / "lidc_crops_1mm.pkl"
    if cache.is_file():
        loaded = pickle.loads(cache.read_bytes())
    else:
        loaded = [load_crop(rec) for rec in records]
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_bytes(pickle.dumps(loaded))
    crops: dict[str, list] = {"train": [], "val": [], "test": []}
    for rec, crop in zip(records, loaded, strict=True):
        crops[splits[rec.id]].append(crop)
    return crops, splits


@torch.no_grad()
def predict(net: NoduleNet, x: np.ndarray, batch: int = 64) -> np.ndarray:
    net.eval()
    out = [torch.softmax(net(torch.from_numpy(x[i : i + batch]))[0], 1)[:, 1].numpy()
           for i in range(0, len(x), batch)]
    return np.concatenate(out)


def train(epochs: int, batch: int, lr: float, seed: int) -> None:
    work = setup(NAME, seed)
    crops, _ = load_crops()
    log.info("crops: train %d val %d test %d", *(len(crops[s]) for s in ("train", "val", "test")))
    xv, yv = sample_epoch(crops["val"], np.random.default_rng(seed + 999), neg_per_crop=4)
    net = NoduleNet()
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-4)
    best = -1.0
    for epoch in range(epochs):
        timer = Timer()
        for group in opt.param_groups:
            group["lr"] = lr * 0.5 * (1 + np.cos(np.pi * epoch / epochs))
        x, y = sample_epoch(crops["train"], np.random.default_rng(seed * 1000 + epoch))
        loss = _epoch(net, opt, x, y, batch, seed * 1000 + epoch)
        auc = roc_auc(yv, predict(net, xv))
        if auc > best:
            best = auc
            torch.save(net.state_dict(), work / "best.pt")
        log.info("epoch %d %.1f min loss %.4f val patch auc %.4f", epoch, timer.minutes(), loss, auc)


def _epoch(net: NoduleNet, opt, x: np.ndarray, y: np.ndarray, batch: int, seed: int) -> float:
    net.train()
    order = np.random.default_rng(seed).permutation(len(x))
    total = 0.0
    weight = torch.tensor([1.0, 2.0])
    for step in range(len(x) // batch):
        idx = order[step * batch : (step + 1) * batch]
        logits, _ = net(torch.from_numpy(x[idx]))
        loss = F.cross_entropy(logits, torch.from_numpy(y[idx]), weight=weight)
        opt.zero_grad()
        loss.backward()
        opt.step()
        total += loss.item()
    return total / max(1, len(x) // batch)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    timer = Timer()
    train(args.epochs, args.batch, args.lr, args.seed)
    log.info("training done in %.1f min", timer.minutes())
    info = {"command": "python -m ai.training.nodule", "args": vars(args), "wall_minutes": timer.minutes()}
    save_json(WORK / NAME / "train_info.json", info)


if __name__ == "__main__":
    main()
