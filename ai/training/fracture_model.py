"""Fracture network: EfficientNet-Lite0 trunk, a stride-16 fused map → GAP → linear (CAM at stride 16),
plus a 1×1 box-mask head used only as auxiliary supervision during training. Input (N, 1, H, W) in [0, 1]."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ai.training.common import GRAY_MEAN, GRAY_STD, Lite0Features

FUSED = 256


class FractureNet(nn.Module):
    def __init__(self, image_size: int, n_classes: int = 2) -> None:
        super().__init__()
        self.trunk = Lite0Features(image_size)
        self.lat_mid = nn.Conv2d(112, FUSED, 1, bias=False)
        self.lat_top = nn.Conv2d(1280, FUSED, 1, bias=False)
        self.fuse_bn = nn.BatchNorm2d(FUSED)
        self.dropout = nn.Dropout(0.3)
        self.fc = nn.Linear(FUSED, n_classes)
        self.mask_head = nn.Conv2d(FUSED, 1, 1)

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return self.forward_mid(self.trunk.bottom((image - GRAY_MEAN) / GRAY_STD))

    def forward_mid(self, mid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """From the (cached, frozen) stride-16 features: logits, cam, auxiliary mask logits."""
        up = F.interpolate(self.lat_top(self.trunk.top(mid)), scale_factor=2.0, mode="nearest")
        fmap = F.relu6(self.fuse_bn(self.lat_mid(mid) + up))
        logits = self.fc(self.dropout(fmap.mean(dim=(2, 3))))
        h, w = fmap.shape[-2:]
        cam = torch.einsum("kc,nchw->nkhw", self.fc.weight, fmap) / (h * w)
        return logits, cam, self.mask_head(fmap)[:, 0]


class FractureExport(nn.Module):
    """What ships: ``logits`` (N, 2) and ``cam`` (N, 2, H/16, W/16)."""

    def __init__(self, net: FractureNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logits, cam, _ = self.net(image)
        return logits, cam
