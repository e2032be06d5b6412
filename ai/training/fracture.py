"""Train the radiograph fracture model: ``python -m ai.training.fracture [--epochs N] [--size S]``.

Fine-tunes ImageNet-pretrained EfficientNet-Lite0 on FracAtlas (letterboxed to S², default 320) for
fracture present/absent (stem and blocks up to stride 16 frozen and cached for each image and its
mirror image), with the fracture boxes as an auxiliary mask target so that the class
activation map points at the fracture. Split by blocks of neighbouring image ids (no patient IDs).
"""

from __future__ import annotations

import argparse
import logging

import numpy as np
import torch
import torch.nn.functional as F

from ai.datasets import assign_splits, read_fracatlas, read_split_csv, write_split_csv
from ai.training.common import (
    LABELLED,
    MODELS,
    WORK,
    Timer,
    mid_feature_cache,
    resized_cache,
    roc_auc,
    save_json,
    setup,
)
from ai.training.fracture_model import FractureNet

NAME = "fracture-radiograph"
FROZEN_BLOCKS = 11  # stem + blocks 0-10 frozen; their stride-16 output is cached
CLASS_WEIGHT = (1.0, 2.0)
CAM_WEIGHT = 0.3  # weight of the loss that keeps the fracture CAM's mass inside the boxes
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


def grid_targets(masks: np.ndarray, grid: int) -> np.ndarray:
    """(2, N, grid, grid) float32: box masks max-pooled to the feature grid, and their mirror images."""
    pooled = F.adaptive_max_pool2d(torch.from_numpy(masks).float().unsqueeze(1), grid)[:, 0].numpy()
    return np.stack([pooled, pooled[:, :, ::-1]]).astype(np.float32)


def cam_in_box_loss(cam: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """−log of the fracture CAM's spatial-softmax mass inside the boxes, over images that have boxes."""
    n, _, h, w = cam.shape
    has_box = target.flatten(1).amax(1) > 0
    if not has_box.any():
        return cam.sum() * 0.0
    log_p = torch.log_softmax(cam[has_box, 1].reshape(-1, h * w) * (h * w), dim=1)
    inside = target[has_box].reshape(-1, h * w) > 0
    return -torch.logsumexp(log_p.masked_fill(~inside, -1e4), dim=1).mean()


def loss_fn(net: FractureNet, mid: torch.Tensor, target: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    logits, cam, mask_logits = net.forward_mid(mid)
    cls = F.cross_entropy(logits, y, weight=torch.tensor(CLASS_WEIGHT), label_smoothing=0.05)
    aux = F.binary_cross_entropy_with_logits(mask_logits, target, pos_weight=torch.tensor(10.0))
    return cls + 0.5 * aux + CAM_WEIGHT * cam_in_box_loss(cam, target)


@torch.no_grad()
def predict(net: FractureNet, mids: np.ndarray, batch: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Fracture probability and max of the auxiliary mask logits, from cached stride-16 features."""
    net.eval()
    probs, mask_max = [], []
    for i in range(0, len(mids), batch):
        logits, _, mask_logits = net.forward_mid(torch.from_numpy(mids[i : i + batch]).float())
        probs.append(torch.softmax(logits, 1)[:, 1].numpy())
        mask_max.append(mask_logits.flatten(1).amax(1).numpy())
    return np.concatenate(probs), np.concatenate(mask_max)


def shift_pair(mid: torch.Tensor, target: torch.Tensor, gen: torch.Generator) -> tuple[torch.Tensor, ...]:
    """Shift features and mask targets together by −1..1 cells in x and y (zero fill)."""
    n, _, h, w = mid.shape
    shifts = torch.randint(-1, 2, (n, 2), generator=gen).tolist()
    pm, pt = F.pad(mid, (1, 1, 1, 1)), F.pad(target, (1, 1, 1, 1))
    mids = [pm[i, :, 1 - dy : 1 - dy + h, 1 - dx : 1 - dx + w] for i, (dx, dy) in enumerate(shifts)]
    targets = [pt[i, 1 - dy : 1 - dy + h, 1 - dx : 1 - dx + w] for i, (dx, dy) in enumerate(shifts)]
    return torch.stack(mids), torch.stack(targets)


def train(epochs: int, batch: int, lr: float, seed: int, size: int) -> None:
    work = setup(NAME, seed)
    records, images, masks, labels, splits = load_data(size)
    tr = np.array([splits[r.id] == "train" for r in records])
    va = np.array([splits[r.id] == "val" for r in records])
    log.info("train %d val %d, size %d", tr.sum(), va.sum(), size)
    net = FractureNet(size)
    mids = mid_feature_cache("fracatlas", net.trunk, images)
    targets = grid_targets(masks, mids.shape[-1])
    net.trunk.freeze_early(FROZEN_BLOCKS)
    opt = torch.optim.AdamW([p for p in net.parameters() if p.requires_grad], lr=lr, weight_decay=1e-4)
    steps = epochs * (int(tr.sum()) // batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.1)
    gen = torch.Generator().manual_seed(seed)
    data = (mids[:, tr], targets[:, tr], labels[tr])
    best = -1.0
    for epoch in range(epochs):
        timer = Timer()
        _epoch(net, opt, sched, data, batch, gen, np.random.default_rng(seed * 1000 + epoch))
        probs, mask_max = predict(net, mids[0, va])
        auc, auc_mask = roc_auc(labels[va], probs), roc_auc(labels[va], mask_max)
        if auc > best:
            best = auc
            torch.save(net.state_dict(), work / "best.pt")
        log.info("epoch %d %.1f min val auc %.4f (mask-max auc %.4f)", epoch, timer.minutes(), auc, auc_mask)


def _epoch(net, opt, sched, data, batch, gen, rng) -> None:
    mids, targets, yi = data
    net.train()
    net.trunk.frozen_eval(FROZEN_BLOCKS)
    order = rng.permutation(mids.shape[1])
    views = rng.integers(0, 2, mids.shape[1])
    total, n_steps = 0.0, mids.shape[1] // batch
    for step in range(n_steps):
        idx = order[step * batch : (step + 1) * batch]
        mid = torch.from_numpy(mids[views[idx], idx]).float()
        target = torch.from_numpy(targets[views[idx], idx])
        mid, target = shift_pair(mid, target, gen)
        loss = loss_fn(net, F.dropout2d(mid, 0.1), target, torch.from_numpy(yi[idx]))
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        total += loss.item()
        if step % 20 == 0:
            log.info("step %d/%d loss %.4f", step, n_steps, total / (step + 1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--size", type=int, default=320)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    timer = Timer()
    train(args.epochs, args.batch, args.lr, args.seed, args.size)
    log.info("training done in %.1f min", timer.minutes())
    info = {"command": "python -m ai.training.fracture", "args": vars(args), "wall_minutes": timer.minutes()}
    save_json(WORK / NAME / "train_info.json", info)


if __name__ == "__main__":
    main()
