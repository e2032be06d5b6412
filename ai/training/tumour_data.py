"""Training data of the brain-MRI tumour model: brain-tumor-mri (type + box, all with a tumour) and
Br35H (tumour / no tumour from one source, boxes on the tumours), letterboxed to one grid, split, and
the outputs of the frozen trunk blocks cached — the stride-8 map (box head input) and the first
stride-16 stage (80 channels, input of the fine-tuned blocks) — for two views: view 0 plain (all
non-test slices), view 1 augmented (training slices only) — resolution drop, zoom/shift/flip,
contrast/gamma — so that the net cannot tell the sources apart by sharpness or scale alone."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ai.datasets import assign_splits, read_br35h, read_brain_tumor, read_split_csv, write_split_csv
from ai.training.augment import random_affine, random_intensity
from ai.training.common import GRAY_MEAN, GRAY_STD, LABELLED, MODELS, WORK, Lite0Features, resized_cache
from ai.training.tumour_model import LOW_CHANNELS, frozen_low

NAME = "tumour-mri"
SIZE = 224
N_VIEWS = 2  # view 0 plain, view 1 augmented (training slices only)
NO_TYPE = -100  # type unknown (Br35H) or absent (no tumour): ignored by the type loss
log = logging.getLogger("radsight.train")


@dataclass
class TumourData:
    records: list
    images: np.ndarray  # (N, SIZE, SIZE) uint8, letterboxed
    presence: np.ndarray  # (N,) 0/1
    types: np.ndarray  # (N,) type index or NO_TYPE
    boxes: np.ndarray  # (N, 4) normalised (cx, cy, w, h) on the letterboxed grid
    has_box: np.ndarray  # (N,) bool
    source: np.ndarray  # (N,) 0 brain-tumor-mri, 1 br35h
    split: np.ndarray  # (N,) "train" / "val" / "test"


def load() -> TumourData:
    brain = read_brain_tumor(LABELLED / "brain-tumor-mri")
    br35h = read_br35h(LABELLED / "br35h")
    splits = {**_splits(brain, "split.csv"), **_splits(br35h, "split_br35h.csv")}
    records = brain + br35h
    images = np.concatenate([resized_cache("brain", brain, SIZE), resized_cache("br35h", br35h, SIZE)])
    boxes = np.array([letterboxed_box(r) for r in records], np.float32)
    return TumourData(
        records=records,
        images=images,
        presence=np.array([1] * len(brain) + [r.label_index for r in br35h]),
        types=np.array([r.label_index for r in brain] + [NO_TYPE] * len(br35h)),
        boxes=boxes,
        has_box=boxes[:, 2] > 0,
        source=np.array([0] * len(brain) + [1] * len(br35h)),
        split=np.array([splits[r.id] for r in records]),
    )


def _splits(records: list, file: str) -> dict[str, str]:
    path = MODELS / NAME / file
    if path.is_file():
        return read_split_csv(path)
    splits = assign_splits(records, seed=0)
    write_split_csv(path, records, splits)
    return splits


def letterboxed_box(record) -> list[float]:
    """The record's first box as normalised (cx, cy, w, h) on the SIZE² letterbox; zeros if none."""
    if not record.boxes:
        return [0.0, 0.0, 0.0, 0.0]
    from PIL import Image

    with Image.open(record.path) as img:
        w, h = img.size
    scale = SIZE / max(h, w)
    pad_x, pad_y = (SIZE - max(1, round(w * scale))) // 2, (SIZE - max(1, round(h * scale))) // 2
    x0, y0, x1, y1 = record.boxes[0]
    c = [
        (x0 * scale + pad_x) / SIZE,
        (y0 * scale + pad_y) / SIZE,
        (x1 * scale + pad_x) / SIZE,
        (y1 * scale + pad_y) / SIZE,
    ]
    return [(c[0] + c[2]) / 2, (c[1] + c[3]) / 2, c[2] - c[0], c[3] - c[1]]


def augment_view(
    x: torch.Tensor, boxes: torch.Tensor, gen: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Resolution drop to 112–224 px and back, zoom/shift/flip (boxes follow), contrast/gamma."""
    side = int(torch.randint(112, SIZE + 1, (1,), generator=gen))
    x = F.interpolate(
        F.interpolate(x, size=side, mode="bilinear", antialias=True), size=SIZE, mode="bilinear"
    )
    x, moved = random_affine(x, boxes, gen, scale=0.2, shift=0.06)
    return random_intensity(x, gen, amount=0.25), moved


@torch.no_grad()
def view_cache(trunk: Lite0Features, data: TumourData, batch: int = 32) -> dict[str, np.ndarray]:
    """Frozen features per view: ``early`` (N_VIEWS, N, 40, 28, 28) and ``low`` (N_VIEWS, N, 80, 14, 14)
    float16, and ``boxes`` (N_VIEWS, N, 4) as moved by each view. View 1 of non-training rows is zero."""
    path = WORK / "cache" / f"tumour4_{SIZE}_views.npz"
    if path.is_file():
        cached = np.load(path)
        if cached["early"].shape[1] == len(data.images):
            return dict(cached)
    trunk.eval()
    gen = torch.Generator().manual_seed(1)
    n = len(data.images)
    feats = np.zeros((N_VIEWS, n, 40, SIZE // 8, SIZE // 8), np.float16)
    lows = np.zeros((N_VIEWS, n, LOW_CHANNELS, SIZE // 16, SIZE // 16), np.float16)
    boxes = np.zeros((N_VIEWS, n, 4), np.float32)
    for view, rows in enumerate((data.split != "test", data.split == "train")):  # test: product only
        todo = np.flatnonzero(rows)
        for start in range(0, len(todo), batch):
            i = todo[start : start + batch]
            x = torch.from_numpy(data.images[i]).float().div(255).unsqueeze(1)
            b = torch.from_numpy(data.boxes[i])
            x, moved = augment_view(x, b, gen) if view else (x, b)
            early = trunk.early((x - GRAY_MEAN) / GRAY_STD)
            feats[view, i] = early.half().numpy()
            lows[view, i] = frozen_low(trunk, early).half().numpy()
            boxes[view, i] = np.where(b[:, 2:3].numpy() > 0, moved.numpy(), 0.0)
            log.info("caching tumour view %d: %d/%d", view, start + len(i), len(todo))
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, early=feats, low=lows, boxes=boxes)
    return {"early": feats, "low": lows, "boxes": boxes}
