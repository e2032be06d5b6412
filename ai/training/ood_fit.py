"""Out-of-distribution statistic shipped inside a model: the Mahalanobis distance of an image's pooled
frozen backbone features (per-channel mean and spread of the stride-16 EfficientNet-Lite0 map, ImageNet
weights, never fine-tuned) to the training images' distribution (mean, shrunk covariance).

(fracture-radiograph 3.0.0 fits it on its own fine-tuned stride-16 blocks instead; see
``ai.training.fracture_export``.)

The distance is an extra ONNX output (``ood_distance``); the threshold is the validation images'
quantile written to ``model.json`` (``ood`` block) and applied by :mod:`ai.ood`."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

SHRINK = 0.05  # share of the average variance added to the diagonal (covariance of a few thousand images)


def pooled(mid: torch.Tensor) -> torch.Tensor:
    """(N, C, h, w) feature map → (N, 2C): per-channel spatial mean and standard deviation."""
    flat = mid.float().flatten(2)
    return torch.cat([flat.mean(dim=2), flat.std(dim=2)], dim=1)


def pooled_numpy(mids: np.ndarray, batch: int = 256) -> np.ndarray:
    return np.concatenate(
        [pooled(torch.from_numpy(mids[i : i + batch])).numpy() for i in range(0, len(mids), batch)]
    ).astype(np.float64)


def fit(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean (D,), whitening matrix W (D, D)) with ‖(x − mean) @ W‖ = Mahalanobis distance."""
    mean = features.mean(axis=0)
    cov = np.cov(features - mean, rowvar=False)
    cov = (1 - SHRINK) * cov + SHRINK * np.trace(cov) / len(cov) * np.eye(len(cov))
    precision = np.linalg.inv(cov)
    return mean, np.linalg.cholesky(precision)


def distances(features: np.ndarray, mean: np.ndarray, whiten: np.ndarray) -> np.ndarray:
    return np.linalg.norm((features - mean) @ whiten, axis=1)


class MahalanobisHead(nn.Module):
    """Torch form of :func:`distances` on a feature map, for the ONNX export: (N, C, h, w) → (N,)."""

    def __init__(self, mean: np.ndarray, whiten: np.ndarray) -> None:
        super().__init__()
        self.register_buffer("mean", torch.from_numpy(mean.astype(np.float32)))
        self.register_buffer("whiten", torch.from_numpy(whiten.astype(np.float32)))

    def forward(self, mid: torch.Tensor) -> torch.Tensor:
        z = (pooled(mid) - self.mean) @ self.whiten
        return torch.sqrt((z * z).sum(dim=1))


def threshold(val_distances: np.ndarray, quantile: float = 0.99) -> float:
    """Refusal threshold: the ``quantile`` of the in-distribution validation distances."""
    return float(np.quantile(val_distances, quantile))


class GuardedExport(nn.Module):
    """Base of a shipped graph: the trained ``net`` and its OOD head (``forward`` in each model's export)."""

    def __init__(self, net: nn.Module, ood: MahalanobisHead) -> None:
        super().__init__()
        self.net, self.ood = net, ood


def fitted_guard(features: np.ndarray, split: np.ndarray, expects: str, validation: str, described: str,
                 quantile: float = 0.99) -> tuple[MahalanobisHead, dict]:
    """The OOD head fitted on the ``split == "train"`` rows of pooled ``features`` and its ``ood.json``,
    with the provisional threshold: the ``quantile`` of the ``split == "val"`` rows' distances (the
    export then re-places it through the product pipeline: :mod:`ai.training.ood_calibrate`)."""
    mean, whiten = fit(features[split == "train"])
    val = distances(features[split == "val"], mean, whiten)
    info = {
        "output": "ood_distance",
        "threshold": round(threshold(val, quantile), 3),
        "expects": expects,
        "calibration": f"{quantile:.0%} quantile of the distances of {len(val)} {validation}",
        "features": described,
    }
    return MahalanobisHead(mean, whiten), info
