"""Train the tumour model's box head alone on a trained network:
``python -m ai.training.tumour_box --init <state dict>``.

Everything but the box head (trunk, fused stride-16 map, presence and type heads, so the scores and maps)
keeps the weights of ``--init``; older state dicts with the soft-argmax box head (tumour-mri ≤ 4.2.0) load
with that head dropped. The fused map is computed once per cached view (:mod:`ai.training.tumour_data`)
with those weights, and the FCOS-style :class:`~ai.training.tumour_model.BoxHead` is trained on the slices
with a box (brain-tumor-mri and Br35H ``yes``), each step shifting the maps by up to one stride-16 cell as
:mod:`ai.training.tumour` does. Best epoch by validation IoU ≥ 0.5 recall (both sources); the full state
dict goes to ``best.pt`` for :mod:`ai.training.tumour_export`.
"""

from __future__ import annotations

import logging

import numpy as np
import torch
import torch.nn.functional as F

from ai.datasets import TUMOUR_CLASSES
from ai.training.common import Timer, head_training_main, optimiser_step, save_json, setup
from ai.training.tumour import iou_cxcywh, shift_features
from ai.training.tumour_data import NAME, SIZE, TumourData, load, view_cache
from ai.training.tumour_model import TumourNet, box_loss, trained_mid

LEGACY_BOX_KEYS = ("lat_early.", "reduce.", "box_bn.", "box_head.0.", "box_head.2.")
log = logging.getLogger("radsight.train")


def load_without_box_head(net: TumourNet, path: str) -> None:
    """Load a state dict's trunk and presence/type heads; its box head (any version) is left out."""
    state = torch.load(path, map_location="cpu")
    kept = {k: v for k, v in state.items() if not k.startswith((*LEGACY_BOX_KEYS, "box_head."))}
    missing, unexpected = net.load_state_dict(kept, strict=False)
    assert not unexpected and all(k.startswith("box_head.") for k in missing), (missing, unexpected)


@torch.no_grad()
def fused_maps(net: TumourNet, lows: np.ndarray, batch: int = 64) -> np.ndarray:
    """The fused stride-16 map (float16) of cached block-7 outputs, through the network's weights."""
    net.eval()
    out = []
    for i in range(0, len(lows), batch):
        low = torch.from_numpy(lows[i : i + batch]).float()
        out.append(net.fused(trained_mid(net.trunk, low)).half().numpy())
    return np.concatenate(out)


def box_sets(net: TumourNet, data: TumourData) -> tuple[dict, dict]:
    """Training set (both views of the training slices with a box) and validation set (plain view)."""
    cache = view_cache(net.trunk, data)
    train = np.flatnonzero((data.split == "train") & data.has_box)
    val = np.flatnonzero((data.split == "val") & data.has_box)
    log.info("box slices: train %d val %d", len(train), len(val))
    views = range(cache["low"].shape[0])
    train_set = {
        "early": np.stack([cache["early"][v, train] for v in views]),
        "fused": np.stack([fused_maps(net, cache["low"][v, train]) for v in views]),
        "box": np.stack([cache["boxes"][v, train] for v in views]),
    }
    val_set = {
        "early": cache["early"][0, val],
        "fused": fused_maps(net, cache["low"][0, val]),
        "box": data.boxes[val],
        "source": data.source[val],
    }
    return train_set, val_set


@torch.no_grad()
def predict_boxes(net: TumourNet, early: np.ndarray, fused: np.ndarray, batch: int = 64) -> np.ndarray:
    net.eval()
    return np.concatenate([
        net.box_head(torch.from_numpy(early[i : i + batch]).float(),
                     torch.from_numpy(fused[i : i + batch]).float())[0].numpy()
        for i in range(0, len(early), batch)
    ])


def validate(net: TumourNet, val_set: dict) -> dict[str, float]:
    iou = iou_cxcywh(predict_boxes(net, val_set["early"], val_set["fused"]), val_set["box"])
    brain = val_set["source"] == 0
    return {
        "iou50_recall": round(float((iou >= 0.5).mean()), 4),
        "brain_tumor_mri_iou50_recall": round(float((iou[brain] >= 0.5).mean()), 4),
        "br35h_iou50_recall": round(float((iou[~brain] >= 0.5).mean()), 4),
        "mean_iou": round(float(iou.mean()), 4),
    }


def _epoch(net: TumourNet, opt, sched, train_set: dict, batch: int, gen: torch.Generator,
           rng: np.random.Generator) -> float:
    net.box_head.train()
    n_views, n = train_set["early"].shape[:2]
    order, views = rng.permutation(n), rng.integers(0, n_views, n)
    total = 0.0
    for step in range(n // batch):
        idx = order[step * batch : (step + 1) * batch]
        early, fused = (torch.from_numpy(train_set[k][views[idx], idx]).float() for k in ("early", "fused"))
        box = torch.from_numpy(train_set["box"][views[idx], idx])
        early, fused, box = shift_features(early, fused, box, gen)
        pred, maps = net.box_head(F.dropout2d(early, 0.1), F.dropout2d(fused, 0.05))
        loss = box_loss(pred, maps, box)
        total += optimiser_step(opt, sched, loss)
    return total / max(1, n // batch)


def train(init: str, epochs: int, batch: int, lr: float, seed: int) -> dict:
    work = setup(NAME, seed, threads=2)
    net = TumourNet(len(TUMOUR_CLASSES), SIZE)
    load_without_box_head(net, init)
    train_set, val_set = box_sets(net, load())
    net.requires_grad_(False)
    net.box_head.requires_grad_(True)
    opt = torch.optim.AdamW(net.box_head.parameters(), lr=lr, weight_decay=1e-4)
    steps = epochs * (train_set["early"].shape[1] // batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.1)
    gen, best = torch.Generator().manual_seed(seed), {"iou50_recall": -1.0}
    for epoch in range(epochs):
        timer = Timer()
        loss = _epoch(net, opt, sched, train_set, batch, gen, np.random.default_rng(seed * 1000 + epoch))
        score = validate(net, val_set)
        log.info("epoch %d %.1f min loss %.3f val %s", epoch, timer.minutes(), loss, score)
        if score["iou50_recall"] > best["iou50_recall"]:
            best = {"epoch": epoch, **score}
            torch.save(net.state_dict(), work / "best.pt")
            save_json(work / "best_epoch.json", best)
    return best


def main() -> None:
    head_training_main(__doc__, NAME, "ai.training.tumour_box", "train_box_info.json", train)


if __name__ == "__main__":
    main()
