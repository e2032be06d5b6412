"""Cache of the frozen stride-32 trunk output (blocks 11-15 and the 1280-channel head conv, ImageNet
weights) computed from cached stride-16 features: on 2 CPU cores shared by ~8 jobs, fine-tuning those
blocks cost ~15 s per batch, so the shipped heads are trained on top of them frozen."""

from __future__ import annotations

import logging

import numpy as np
import torch

from ai.training.common import WORK, Lite0Features

log = logging.getLogger("radsight.train")


@torch.no_grad()
def top_cache(
    name: str, trunk: Lite0Features, mids: np.ndarray, rows: np.ndarray, batch: int = 64
) -> np.ndarray:
    """float16 (V, N, 1280, h/2, w/2): ``trunk.top`` of ``mids`` (V, N, 112, h, w) for the flagged rows."""
    path = WORK / "cache" / f"{name}_top.npy"
    if path.is_file():
        cached = np.load(path)
        if cached.shape[1] == mids.shape[1]:
            return cached
    trunk.eval()
    v, n, _, h, w = mids.shape
    out = np.zeros((v, n, 1280, (h + 1) // 2, (w + 1) // 2), np.float16)
    todo = np.flatnonzero(rows)
    for view in range(v):
        for start in range(0, len(todo), batch):
            i = todo[start : start + batch]
            out[view, i] = trunk.top(torch.from_numpy(mids[view, i]).float()).half().numpy()
            log.info("caching %s top features %d/%d", name, start + len(i), len(todo))
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, out)
    return out
