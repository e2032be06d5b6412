"""Fracture detector: EfficientNet-Lite0 trunk (frozen to stride 16), a stride-16 fused map → GAP →
linear image-level head (fracture / none, with its CAM), and a CenterNet-style head at stride 8 on a
top-down fused map (a tower of 3×3 conv + group-norm layers): centre heat map, sub-cell offset and log box
size. Input (N, 1, H, W) in [0, 1]."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ai.training.common import GRAY_MEAN, GRAY_STD, Lite0Features, conv_tower

FUSED = 256
DET = 128  # channels of the detection tower (3.x: 64, one 3×3 conv)
DET_DEPTH = 3
STRIDE = 8


class FractureNet(nn.Module):
    def __init__(self, image_size: int, n_classes: int = 2) -> None:
        super().__init__()
        self.trunk = Lite0Features(image_size)
        self.lat_mid = nn.Conv2d(112, FUSED, 1, bias=False)
        self.lat_top = nn.Conv2d(1280, FUSED, 1, bias=False)
        self.fuse_bn = nn.BatchNorm2d(FUSED)
        self.dropout = nn.Dropout(0.3)
        self.fc = nn.Linear(FUSED, n_classes)
        self.lat_early = nn.Conv2d(40, DET, 1, bias=False)
        self.reduce = nn.Conv2d(FUSED, DET, 1, bias=False)
        self.det_bn = nn.BatchNorm2d(DET)
        self.det = nn.Sequential(*conv_tower(DET, DET_DEPTH), nn.Conv2d(DET, 5, 1))
        nn.init.constant_(self.det[-1].bias[:1], -4.6)  # centre prior 0.01 (focal-loss start)

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, ...]:
        early = self.trunk.early((image - GRAY_MEAN) / GRAY_STD)
        return self.forward_cached(early, self.trunk.middle(early))

    def forward_cached(
        self, early: torch.Tensor, mid: torch.Tensor, top: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, ...]:
        """From the frozen stride-8 and stride-16 features (and the cached ``trunk.top(mid)`` where the
        stride-32 blocks are frozen too): logits (N, 2), cam (N, 2, H/16, W/16), detection map
        (N, 5, H/8, W/8): centre logit, offset x/y (cells), log width/height (cells)."""
        fmap = self.fused(mid, top)
        logits = self.fc(self.dropout(fmap.mean(dim=(2, 3))))
        h, w = fmap.shape[-2:]
        cam = torch.einsum("kc,nchw->nkhw", self.fc.weight, fmap) / (h * w)
        return logits, cam, self.detect(early, fmap)

    def fused(self, mid: torch.Tensor, top: torch.Tensor | None = None) -> torch.Tensor:
        """The stride-16 fused map (N, FUSED, h, w) the heads read."""
        top = self.trunk.top(mid) if top is None else top
        up = F.interpolate(self.lat_top(top), scale_factor=2.0, mode="nearest")
        return F.relu6(self.fuse_bn(self.lat_mid(mid) + up))

    def detect(self, early: torch.Tensor, fmap: torch.Tensor) -> torch.Tensor:
        """Detection map (N, 5, 2h, 2w) from the stride-8 trunk map and the fused stride-16 map."""
        up8 = F.interpolate(self.reduce(fmap), scale_factor=2.0, mode="nearest")
        return self.det(F.relu6(self.det_bn(self.lat_early(early) + up8)))


def focal_loss(logit: torch.Tensor, heat: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """CenterNet focal loss on (N, h, w) centre logits against Gaussian targets, images with ``valid``."""
    p = torch.sigmoid(logit[valid]).clamp(1e-4, 1 - 1e-4)
    t = heat[valid]
    pos = t >= 0.999
    pos_loss = -(torch.log(p) * (1 - p) ** 2)[pos].sum()
    neg_loss = -(torch.log(1 - p) * p**2 * (1 - t) ** 4)[~pos].sum()
    return (pos_loss + neg_loss) / pos.sum().clamp(min=1)
