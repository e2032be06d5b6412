"""Training data of the fracture detector: FracAtlas letterboxed to SIZE², boxes on that grid, the
frozen stride-8 features of each image (and the mirror image of the fractured training images; cached),
and CenterNet targets on the stride-8 grid (Gaussian centre heat, offset and log size in cells)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import torch

from ai.datasets import assign_splits, read_fracatlas, read_split_csv, write_split_csv
from ai.training.common import GRAY_MEAN, GRAY_STD, LABELLED, MODELS, WORK, Lite0Features, resized_cache

NAME = "fracture-radiograph"
SIZE = 320
VIEWS = (0, 1)  # 0 plain, 1 mirror image (stride-8 features of both are cached)
STRIDE = 8
log = logging.getLogger("radsight.train")


@dataclass
class FractureData:
    records: list
    images: np.ndarray  # (N, SIZE, SIZE) uint8, letterboxed
    labels: np.ndarray  # (N,) 0/1
    boxes: list  # per image (M, 4) x0, y0, x1, y1 in letterbox pixels
    split: np.ndarray


def load() -> FractureData:
    records = read_fracatlas(LABELLED / "fracatlas")
    path = MODELS / NAME / "split.csv"
    splits = read_split_csv(path) if path.is_file() else assign_splits(records, seed=0)
    if not path.is_file():
        write_split_csv(path, records, splits)
    images = resized_cache("fracatlas", records, SIZE)
    return FractureData(
        records,
        images,
        np.array([r.label_index for r in records]),
        [letterboxed_boxes(r) for r in records],
        np.array([splits[r.id] for r in records]),
    )


def letterboxed_boxes(record) -> np.ndarray:
    """The record's boxes on the SIZE² letterbox grid, (M, 4) float32."""
    from PIL import Image

    with Image.open(record.path) as img:
        w, h = img.size
    scale = SIZE / max(h, w)
    pad_x, pad_y = (SIZE - max(1, round(w * scale))) // 2, (SIZE - max(1, round(h * scale))) // 2
    out = [
        [x0 * scale + pad_x, y0 * scale + pad_y, x1 * scale + pad_x, y1 * scale + pad_y]
        for x0, y0, x1, y1 in record.boxes
    ]
    return np.array(out, np.float32).reshape(-1, 4)


def mirrored(boxes: np.ndarray) -> np.ndarray:
    return np.stack([SIZE - boxes[:, 2], boxes[:, 1], SIZE - boxes[:, 0], boxes[:, 3]], axis=1)


def centre_targets(boxes: np.ndarray, grid: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gaussian centre heat (grid, grid), regression (4, grid, grid) and its mask for (M, 4) boxes."""
    heat = np.zeros((grid, grid), np.float32)
    reg = np.zeros((4, grid, grid), np.float32)
    mask = np.zeros((grid, grid), bool)
    ys, xs = np.mgrid[0:grid, 0:grid] + 0.5
    for x0, y0, x1, y1 in boxes / STRIDE:
        cx, cy, w, h = (x0 + x1) / 2, (y0 + y1) / 2, max(x1 - x0, 0.5), max(y1 - y0, 0.5)
        col, row = min(int(cx), grid - 1), min(int(cy), grid - 1)
        sigma = max(0.75, min(w, h) / 4)
        heat = np.maximum(heat, np.exp(-((xs - col - 0.5) ** 2 + (ys - row - 0.5) ** 2) / (2 * sigma**2)))
        reg[:, row, col] = (cx - col - 0.5, cy - row - 0.5, np.log(w), np.log(h))
        mask[row, col] = True
    return heat.astype(np.float32), reg, mask


def all_targets(data: FractureData) -> dict[str, np.ndarray]:
    """Targets of every image for each cached view, stacked (len(VIEWS), N, ...)."""
    grid = SIZE // STRIDE
    out: dict[str, list] = {"heat": [], "reg": [], "mask": []}
    for view in VIEWS:
        parts = [centre_targets(mirrored(b) if view else b, grid) for b in data.boxes]
        for k, key in enumerate(out):
            out[key].append(np.stack([p[k] for p in parts]))
    return {k: np.stack(v) for k, v in out.items()}


@torch.no_grad()
def early_cache(trunk: Lite0Features, images: np.ndarray, todo: np.ndarray, batch: int = 16) -> np.ndarray:
    """float16 (len(VIEWS), N, 40, S/8, S/8): frozen stride-8 features (stem and blocks 0-4, ImageNet
    weights) of the images flagged in ``todo`` (len(VIEWS), N) for each view (plain, mirror image); zeros
    elsewhere (the test split is measured through the product only). The blocks above are fine-tuned on
    top of this cache."""
    path = WORK / "cache" / f"fracture_early_{SIZE}.npy"
    if path.is_file():
        cached = np.load(path)
        if cached.shape[:2] == (len(VIEWS), len(images)):
            return cached
    trunk.eval()
    g = SIZE // STRIDE
    out = np.zeros((len(VIEWS), len(images), 40, g, g), np.float16)
    for v, view in enumerate(VIEWS):
        rows = np.flatnonzero(todo[v])
        for start in range(0, len(rows), batch):
            i = rows[start : start + batch]
            x = torch.from_numpy(images[i]).float().div(255).unsqueeze(1)
            x = torch.flip(x, dims=[3]) if view else x
            out[v, i] = trunk.early((x - GRAY_MEAN) / GRAY_STD).half().numpy()
            log.info("caching stride-8 features, view %d: %d/%d", view, start + len(i), len(rows))
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, out)
    return out


def cached_views(data: FractureData) -> np.ndarray:
    """(len(VIEWS), N) bool: which views :func:`early_cache` computes — every non-test image plainly, the
    mirror image of the fractured training images only (the rare class; 2 shared cores)."""
    return np.stack([data.split != "test", (data.split == "train") & (data.labels == 1)])
