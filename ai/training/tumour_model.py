"""Tumour network: EfficientNet-Lite0 trunk, a stride-16 fused map feeding GAP → linear presence and type
heads (so their CAMs are 14×14 at 224²) and an FCOS-style box head at stride 8 (28×28 at 224²): every
cell predicts the distances to the four sides of the tumour box and a centredness logit; the box is the
centredness-weighted mean of the cells' boxes. Input: (N, 1, H, W) in [0, 1].

Trunk blocks 0–7 (stem to the first, 80-channel stride-16 stage) stay at their ImageNet weights; blocks
8–15 (the 112-channel stride-16 stage, the stride-32 blocks) and the head conv are fine-tuned."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ai.training.common import GRAY_MEAN, GRAY_STD, Lite0Features, conv_tower

FUSED = 256
BOX = 128  # channels of the box head's tower
BOX_DEPTH = 3  # 3×3 conv + group norm + ReLU layers in the tower
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
        self.box_head = BoxHead()

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
        """From the stride-8 and stride-16 features: presence logit (N,), type logits, CAMs
        (N, 1 + types, h, w; presence first), box (N, 4) normalised (cx, cy, w, h), box maps
        (N, 5, 2h, 2w): centredness logit and the four side distances per stride-8 cell (see
        :class:`BoxHead`). ``top``: a precomputed ``trunk.top(mid)``, if any."""
        fmap = self.fused(mid, top)
        pooled = self.dropout(fmap.mean(dim=(2, 3)))
        logits, presence = self.fc(pooled), self.presence(pooled)[:, 0]
        h, w = fmap.shape[-2:]
        weights = torch.cat([self.presence.weight, self.fc.weight])
        cam = torch.einsum("kc,nchw->nkhw", weights, fmap) / (h * w)
        box, maps = self.box_head(early, fmap)
        return presence, logits, cam, box, maps

    def fused(self, mid: torch.Tensor, top: torch.Tensor | None = None) -> torch.Tensor:
        """The stride-16 fused map (N, FUSED, h, w) the heads read."""
        top = self.trunk.top(mid) if top is None else top
        up = F.interpolate(self.lat_top(top), scale_factor=2.0, mode="nearest")
        return F.relu6(self.fuse_bn(self.lat_mid(mid) + up))


def giou_loss(pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
    """1 − generalised IoU for (cx, cy, w, h) boxes: mean over the batch, or weighted by ``weight``."""
    p0, p1 = pred[:, :2] - pred[:, 2:] / 2, pred[:, :2] + pred[:, 2:] / 2
    t0, t1 = target[:, :2] - target[:, 2:] / 2, target[:, :2] + target[:, 2:] / 2
    inter = (torch.minimum(p1, t1) - torch.maximum(p0, t0)).clamp(min=0).prod(1)
    union = pred[:, 2:].prod(1) + target[:, 2:].prod(1) - inter
    hull = (torch.maximum(p1, t1) - torch.minimum(p0, t0)).prod(1)
    iou = inter / union.clamp(min=1e-6)
    loss = 1 - (iou - (hull - union) / hull.clamp(min=1e-6))
    if weight is None:
        return loss.mean()
    return (loss * weight).sum() / weight.sum().clamp(min=1e-6)


def cell_centres(h: int, w: int, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """Normalised x (1, 1, w) and y (1, h, 1) of the cell centres of an h × w map."""
    gx = (torch.arange(w, dtype=dtype).reshape(1, 1, w) + 0.5) / w
    gy = (torch.arange(h, dtype=dtype).reshape(1, h, 1) + 0.5) / h
    return gx, gy


class BoxHead(nn.Module):
    """One tumour box per slice, FCOS style (Tian et al., ICCV 2019) at stride 8, on the stride-8 trunk map
    plus the upsampled stride-16 fused map: per cell a centredness logit and the distances (fractions of
    the image) from the cell centre to the box's left, top, right and bottom sides. The box is the mean of
    the cells' boxes weighted by the softmax of their centredness over the map."""

    def __init__(self, width: int = BOX, depth: int = BOX_DEPTH) -> None:
        super().__init__()
        self.lat_early = nn.Conv2d(40, width, 1, bias=False)
        self.reduce = nn.Conv2d(FUSED, width, 1, bias=False)
        self.bn = nn.BatchNorm2d(width)
        self.tower = nn.Sequential(*conv_tower(width, depth))
        self.out = nn.Conv2d(width, 5, 3, padding=1)

    def forward(self, early: torch.Tensor, fmap: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Box (N, 4) normalised (cx, cy, w, h) and the maps (N, 5, h, w): centredness logit, then the
        side distances (left, top, right, bottom)."""
        up8 = F.interpolate(self.reduce(fmap), scale_factor=2.0, mode="nearest")
        raw = self.out(self.tower(F.relu6(self.bn(self.lat_early(early) + up8))))
        maps = torch.cat([raw[:, :1], torch.sigmoid(raw[:, 1:])], dim=1)
        corners = cell_boxes(maps)
        n, _, h, w = maps.shape
        weight = torch.softmax(maps[:, 0].reshape(n, h * w), dim=1).reshape(n, 1, h, w)
        return corners_to_cxcywh((corners * weight).sum(dim=(2, 3))), maps


def cell_boxes(maps: torch.Tensor) -> torch.Tensor:
    """(N, 4, h, w) corners (x0, y0, x1, y1) of each cell's box from its side distances."""
    gx, gy = cell_centres(*maps.shape[-2:], maps.dtype)
    left, top, right, bottom = maps[:, 1:].unbind(1)
    return torch.stack([gx - left, gy - top, gx + right, gy + bottom], dim=1)


def corners_to_cxcywh(c: torch.Tensor) -> torch.Tensor:
    """(N, 4) corners (x0, y0, x1, y1) → (cx, cy, w, h)."""
    x0, y0, x1, y1 = c.unbind(1)
    return torch.stack([(x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0], dim=1)


def box_targets(boxes: torch.Tensor, h: int, w: int) -> tuple[torch.Tensor, torch.Tensor]:
    """For (N, 4) normalised (cx, cy, w, h) boxes on an h × w map: the FCOS centredness target (N, h, w)
    — sqrt(min(l, r)/max(l, r) · min(t, b)/max(t, b)) for cells whose centre is inside the box, 0
    elsewhere — and the inside mask, which always holds the box centre's cell."""
    gx, gy = cell_centres(h, w, boxes.dtype)
    cx, cy, bw, bh = (boxes[:, i].reshape(-1, 1, 1) for i in range(4))
    left, right = gx - (cx - bw / 2), (cx + bw / 2) - gx
    top, bottom = gy - (cy - bh / 2), (cy + bh / 2) - gy
    inside = (left > 0) & (right > 0) & (top > 0) & (bottom > 0)
    col = (boxes[:, 0] * w).long().clamp(0, w - 1)
    row = (boxes[:, 1] * h).long().clamp(0, h - 1)
    inside[torch.arange(len(boxes)), row, col] = True
    lr = left.clamp(min=1e-6).minimum(right.clamp(min=1e-6)) / left.abs().maximum(right.abs()).clamp(min=1e-6)
    tb = top.clamp(min=1e-6).minimum(bottom.clamp(min=1e-6)) / top.abs().maximum(bottom.abs()).clamp(min=1e-6)
    centredness = torch.where(inside, (lr * tb).clamp(0, 1).sqrt(), torch.zeros_like(lr))
    return centredness, inside


def box_loss(box: torch.Tensor, maps: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The box head's loss for slices with a (N, 4) target box: L1 + GIoU of the pooled box, GIoU of each
    inside cell's box weighted by its centredness target, and binary cross-entropy of the centredness."""
    n, _, h, w = maps.shape
    centredness, inside = box_targets(target, h, w)
    pooled = 5 * F.l1_loss(box, target) + 2 * giou_loss(box, target)
    cells = cell_boxes(maps).permute(0, 2, 3, 1)[inside]
    per_cell = giou_loss(corners_to_cxcywh(cells), target[inside.nonzero()[:, 0]], centredness[inside])
    ctr = F.binary_cross_entropy_with_logits(maps[:, 0], centredness)
    return pooled + 2 * per_cell + ctr
