"""Train the fracture detector's detection head alone on a trained network:
``python -m ai.training.fracture_head --init <state dict>``.

Everything but the detection head (trunk, fused stride-16 map, image-level head and its CAM) keeps the
weights of ``--init``; older state dicts with the one-conv head (fracture-radiograph ≤ 3.1.0) load with
that head dropped. The fused map of each cached view (:mod:`ai.training.fracture_data`: every non-test
image, and the mirror image of the fractured training images) is computed once with those weights; the
head (:class:`~ai.training.fracture_model.FractureNet` ``lat_early``/``reduce``/``det_bn``/``det``) is
trained with the CenterNet losses of :mod:`ai.training.fracture`, each epoch on all fractured training
images and twice as many others, each shifted by up to two stride-16 cells. Best epoch by validation
IoU ≥ 0.3 recall at ≤ 1 false box per image + AP50; the full state dict and the validation maps go to
``best.pt`` / ``best_val.npz`` for :mod:`ai.training.fracture_export`.
"""

from __future__ import annotations

import logging

import numpy as np
import torch
import torch.nn.functional as F

from ai.box_decode import decode_centres
from ai.training.common import Timer, head_training_main, optimiser_step, save_json, setup
from ai.training.fracture import NEGATIVES_PER_POSITIVE, detection_scores, shift_cells
from ai.training.fracture_data import NAME, SIZE, STRIDE, all_targets, cached_views, early_cache, load
from ai.training.fracture_model import FractureNet, focal_loss

HEAD_KEYS = ("lat_early.", "reduce.", "det_bn.", "det.")
FUSED_SHIFT = 2  # stride-16 cells (4 stride-8 cells, as in ai.training.fracture)
log = logging.getLogger("radsight.train")


def load_without_head(net: FractureNet, path: str) -> None:
    """Load a state dict's trunk and image-level head; its detection head (any version) is left out."""
    state = torch.load(path, map_location="cpu")
    missing, unexpected = net.load_state_dict(
        {k: v for k, v in state.items() if not k.startswith(HEAD_KEYS)}, strict=False
    )
    assert not unexpected and all(k.startswith(HEAD_KEYS) for k in missing), (missing, unexpected)


@torch.no_grad()
def fused_maps(net: FractureNet, early: np.ndarray, rows: np.ndarray, batch: int = 32) -> np.ndarray:
    """float16 (N, FUSED, h, w): the fused stride-16 map of the cached stride-8 maps in ``rows`` (zeros
    elsewhere)."""
    net.eval()
    out = None
    for start in range(0, len(rows), batch):
        i = rows[start : start + batch]
        x = torch.from_numpy(early[i]).float()
        fmap = net.fused(net.trunk.middle(x)).half().numpy()
        if out is None:
            out = np.zeros((len(early), *fmap.shape[1:]), np.float16)
        out[i] = fmap
    return out


@torch.no_grad()
def predict(net: FractureNet, early: np.ndarray, fused: np.ndarray, batch: int = 64) -> dict:
    """Image-level probability, decoded boxes and maps (as :func:`ai.training.fracture.predict`)."""
    net.eval()
    probs, dets, maps = [], [], []
    for i in range(0, len(early), batch):
        e, f = (torch.from_numpy(a[i : i + batch]).float() for a in (early, fused))
        probs.extend(torch.softmax(net.fc(f.mean(dim=(2, 3))), 1)[:, 1].tolist())
        det = net.detect(e, f)
        heat, reg = torch.sigmoid(det[:, 0]).numpy(), det[:, 1:].numpy()
        dets.extend(decode_centres(heat[k], reg[k], STRIDE) for k in range(len(det)))
        maps.append(np.concatenate([heat[:, None], reg], axis=1).astype(np.float16))
    return {"prob": probs, "dets": dets, "maps": np.concatenate(maps)}


def _epoch(net: FractureNet, opt, sched, s: dict, batch: int, gen: torch.Generator,
           rng: np.random.Generator) -> float:
    for module in (net.lat_early, net.reduce, net.det_bn, net.det):
        module.train()
    positives = np.flatnonzero(s["y"] == 1)
    negatives = rng.choice(np.flatnonzero(s["y"] == 0), NEGATIVES_PER_POSITIVE * len(positives),
                           replace=False)
    order = rng.permutation(np.concatenate([positives, negatives]))
    views = rng.integers(0, 2, len(s["y"])) * s["views"][1]  # the mirror image where it is cached
    total, n_steps = 0.0, len(order) // batch
    for step in range(n_steps):
        idx = order[step * batch : (step + 1) * batch]
        coarse = torch.randint(-FUSED_SHIFT, FUSED_SHIFT + 1, (len(idx), 2), generator=gen)
        fine = (2 * coarse).tolist()
        pick = {k: torch.from_numpy(s[k][views[idx], idx]) for k in ("early", "fused", "heat", "reg", "mask")}
        early = F.dropout2d(shift_cells(pick["early"].float(), fine), 0.1)
        fused = F.dropout2d(shift_cells(pick["fused"].float(), coarse.tolist()), 0.05)
        det = net.detect(early, fused)
        mask = shift_cells(pick["mask"][:, None].float(), fine)[:, 0] > 0.5
        heat = shift_cells(pick["heat"][:, None], fine)[:, 0]
        reg = det[:, 1:].permute(0, 2, 3, 1)[mask]
        target = shift_cells(pick["reg"], fine).permute(0, 2, 3, 1)[mask]
        loss = focal_loss(det[:, 0], heat, torch.ones(len(det), dtype=torch.bool))
        loss = loss + (F.l1_loss(reg, target) if len(reg) else det.sum() * 0.0)
        total += optimiser_step(opt, sched, loss)
    return total / max(1, n_steps)


def train(init: str, epochs: int, batch: int, lr: float, seed: int) -> dict:
    work = setup(NAME, seed, threads=2)
    data = load()
    net = FractureNet(SIZE)
    load_without_head(net, init)
    views = cached_views(data)
    early = early_cache(net.trunk, data.images, views)
    fused = np.stack([fused_maps(net, early[v], np.flatnonzero(views[v])) for v in range(len(views))])
    tr, va = data.split == "train", data.split == "val"
    targets = all_targets(data)
    s = {"early": early[:, tr], "fused": fused[:, tr], "y": data.labels[tr], "views": views[:, tr],
         **{k: v[:, tr] for k, v in targets.items()}}
    net.requires_grad_(False)
    head = [p for m in (net.lat_early, net.reduce, net.det_bn, net.det) for p in m.parameters()]
    for p in head:
        p.requires_grad_(True)
    opt = torch.optim.AdamW(head, lr=lr, weight_decay=1e-4)
    per_epoch = (1 + NEGATIVES_PER_POSITIVE) * int((s["y"] == 1).sum()) // batch
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * per_epoch, pct_start=0.1)
    gen, best = torch.Generator().manual_seed(seed), {"select": -1.0}
    val_boxes = [b for b, keep in zip(data.boxes, va, strict=True) if keep]
    for epoch in range(epochs):
        timer = Timer()
        loss = _epoch(net, opt, sched, s, batch, gen, np.random.default_rng(seed * 1000 + epoch))
        out = predict(net, early[0, va], fused[0, va])
        score = detection_scores(out, data.labels[va], val_boxes)
        score["select"] = score["iou30_recall@1fp"] + score["ap50"]
        log.info("epoch %d %.1f min loss %.3f val %s", epoch, timer.minutes(), loss, score)
        if score["select"] > best["select"]:
            best = {"epoch": epoch, **score}
            torch.save(net.state_dict(), work / "best.pt")
            np.savez(work / "best_val.npz", prob=np.array(out["prob"]), maps=out["maps"])
            save_json(work / "best_epoch.json", best)
    return best


def main() -> None:
    head_training_main(__doc__, NAME, "ai.training.fracture_head", "train_head_info.json", train)


if __name__ == "__main__":
    main()
