"""Small 3D CNN (from scratch) scoring 32³ 1 mm candidate patches: nodule vs background, with CAM."""

from __future__ import annotations

import torch
from torch import nn


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv3d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm3d(cout), nn.ReLU())


class NoduleNet(nn.Module):
    """32³ → 8 ch → pool → 16, 16 → pool → 32, 32 (8³, the CAM grid) → GAP → linear (2 classes)."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            _block(1, 8), nn.MaxPool3d(2),
            _block(8, 16), _block(16, 16), nn.MaxPool3d(2),
            _block(16, 32), _block(32, 32),
        )
        self.dropout = nn.Dropout(0.3)
        self.fc = nn.Linear(32, 2)

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        fmap = self.features(image)
        logits = self.fc(self.dropout(fmap.mean(dim=(2, 3, 4))))
        d, h, w = fmap.shape[-3:]
        cam = torch.einsum("kc,ncdhw->nkdhw", self.fc.weight, fmap) / (d * h * w)
        return logits, cam
