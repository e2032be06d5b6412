"""Tumour network: EfficientNet-Lite0 trunk, a stride-16 fused map feeding GAP → linear presence and type
heads (so their CAMs are 14×14 at 224²) and a soft-argmax box head at stride 8 (28×28 at 224²).
Input: (N, 1, H, W) in [0, 1].

Trunk blocks 0–7 (stem to the first, 80-channel stride-16 stage) stay at their ImageNet weights; blocks
8–15 (the 112-channel stride-16 stage, the stride-32 blocks) and the head conv are fine-tuned."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ai.training.common import GRAY_MEAN, GRAY_STD, Lite0Features

FUSED = 256
BOX = 64
FROZEN_BLOCKS = 8  # trunk blocks 0-7 frozen (their outputs are cached for training)
LOW_CHANNELS = 80  # channels of block 7's output (stride 16)


def frozen_low(trunk: Lite0Features, early: torch.Tensor) -> torch.Tensor:
    """Frozen blocks after the stride-8 map up to block 7: (N, 80, h/16, w/16)."""
    for block in trunk.blocks[trunk.EARLY_BLOCK + 1 : FROZEN_BLOCKS]:
        early = block(early)
    return early


def trained_mid(trunk: Lite0Features, low: torch.Tensor) -> torch.Tensor:
    """Fine-tuned stride-16 blocks 8-10: block 7's output → the 112-channel stride-16 map."""
    for block in trunk.blocks[FROZEN_BLOCKS : trunk.MID_BLOCK + 1]:
        low = block(low)
    return low


class TumourNet(nn.Module):
    def __init__(self, n_classes: int = 3, image_size: int = 224) -> None:
        super().__init__()
        self.trunk = Lite0Features(image_size)
        self.lat_mid = nn.Conv2d(112, FUSED, 1, bias=False)
        self.lat_top = nn.Conv2d(1280, FUSED, 1, bias=False)
        self.fuse_bn = nn.BatchNorm2d(FUSED)
        self.dropout = nn.Dropout(0.2)
        self.fc = nn.Linear(FUSED, n_classes)
        self.presence = nn.Linear(FUSED, 1)
        self.lat_early = nn.Conv2d(40, BOX, 1, bias=False)
        self.reduce = nn.Conv2d(FUSED, BOX, 1, bias=False)
        self.box_bn = nn.BatchNorm2d(BOX)
        self.box_head = nn.Sequential(nn.Conv2d(BOX, BOX, 3, padding=1), nn.ReLU(), nn.Conv2d(BOX, 5, 1))

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, ...]:
        early = self.trunk.early((image - GRAY_MEAN) / GRAY_STD)
        return self.forward_low(early, frozen_low(self.trunk, early))

    def forward_low(self, early: torch.Tensor, low: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """From the cached frozen stride-8 map and block 7's output (see :meth:`forward_cached`)."""
        return self.forward_cached(early, trained_mid(self.trunk, low))

    def trunk_trained(self) -> list[nn.Parameter]:
        """Parameters of the fine-tuned trunk blocks (8-15) and head conv."""
        return [*self.trunk.blocks[FROZEN_BLOCKS:].parameters(), *self.trunk.head.parameters()]

    def forward_cached(
        self, early: torch.Tensor, mid: torch.Tensor, top: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, ...]:
        """From the stride-8 and stride-16 features: presence logit (N,), type logits,
        CAMs (N, 1 + types, h, w; presence first), box, centre heat logits. ``top``: a precomputed
        ``trunk.top(mid)``, if any."""
        fmap = self.fused(mid, top)
        pooled = self.dropout(fmap.mean(dim=(2, 3)))
        logits, presence = self.fc(pooled), self.presence(pooled)[:, 0]
        h, w = fmap.shape[-2:]
        weights = torch.cat([self.presence.weight, self.fc.weight])
        cam = torch.einsum("kc,nchw->nkhw", weights, fmap) / (h * w)
        up8 = F.interpolate(self.reduce(fmap), scale_factor=2.0, mode="nearest")
        box, heat = self.box(F.relu6(self.box_bn(self.lat_early(early) + up8)))
        return presence, logits, cam, box, heat

    def fused(self, mid: torch.Tensor, top: torch.Tensor | None = None) -> torch.Tensor:
        """The stride-16 fused map (N, FUSED, h, w) the heads read."""
        top = self.trunk.top(mid) if top is None else top
        up = F.interpolate(self.lat_top(top), scale_factor=2.0, mode="nearest")
        return F.relu6(self.fuse_bn(self.lat_mid(mid) + up))

    def box(self, feat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Soft-argmax over a centre heat map; offsets and sizes averaged with the same weights."""
        out = self.box_head(feat)
        n, _, h, w = out.shape
        heat = out[:, 0].reshape(n, h * w)
        p = torch.softmax(heat, dim=1).reshape(n, h, w)
        gy = (torch.arange(h, dtype=out.dtype).reshape(1, h, 1) + 0.5) / h
        gx = (torch.arange(w, dtype=out.dtype).reshape(1, 1, w) + 0.5) / w
        cx = gx + torch.tanh(out[:, 1]) * (1.5 / w)
        cy = gy + torch.tanh(out[:, 2]) * (1.5 / h)
        bw, bh = torch.sigmoid(out[:, 3]), torch.sigmoid(out[:, 4])
        box = torch.stack([(p * v).sum(dim=(1, 2)) for v in (cx, cy, bw, bh)], dim=1)
        return box, heat


def giou_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """1 − generalised IoU for (cx, cy, w, h) boxes, mean over the batch."""
    p0, p1 = pred[:, :2] - pred[:, 2:] / 2, pred[:, :2] + pred[:, 2:] / 2
    t0, t1 = target[:, :2] - target[:, 2:] / 2, target[:, :2] + target[:, 2:] / 2
    inter = (torch.minimum(p1, t1) - torch.maximum(p0, t0)).clamp(min=0).prod(1)
    union = pred[:, 2:].prod(1) + target[:, 2:].prod(1) - inter
    hull = (torch.maximum(p1, t1) - torch.minimum(p0, t0)).prod(1)
    iou = inter / union.clamp(min=1e-6)
    return (1 - (iou - (hull - union) / hull.clamp(min=1e-6))).mean()
