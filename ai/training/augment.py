"""Batch augmentations on torch tensors (2D): flips, scale/shift with box bookkeeping, intensity."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def random_affine(
    x: torch.Tensor, boxes: torch.Tensor | None, gen: torch.Generator, scale: float = 0.15,
    shift: float = 0.08, hflip: bool = True,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Zoom/shift/flip a batch (N,1,H,W); ``boxes`` (N,4) normalised (cx, cy, w, h) follow the image."""
    n = x.shape[0]
    a = 1 + (torch.rand(n, generator=gen) * 2 - 1) * scale  # sampling step: a < 1 zooms in
    t = (torch.rand(n, 2, generator=gen) * 2 - 1) * shift * 2
    flip = (torch.rand(n, generator=gen) < 0.5) if hflip else torch.zeros(n, dtype=torch.bool)
    sx = torch.where(flip, -a, a)
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0], theta[:, 1, 1], theta[:, 0, 2], theta[:, 1, 2] = sx, a, t[:, 0], t[:, 1]
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    out = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    if boxes is None:
        return out, None
    return out, _move_boxes(boxes, sx, a, t)


def _move_boxes(boxes: torch.Tensor, sx: torch.Tensor, a: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    x0 = ((boxes[:, 0] - boxes[:, 2] / 2) * 2 - 1 - t[:, 0]) / sx
    x1 = ((boxes[:, 0] + boxes[:, 2] / 2) * 2 - 1 - t[:, 0]) / sx
    y0 = ((boxes[:, 1] - boxes[:, 3] / 2) * 2 - 1 - t[:, 1]) / a
    y1 = ((boxes[:, 1] + boxes[:, 3] / 2) * 2 - 1 - t[:, 1]) / a
    lo_x, hi_x = torch.minimum(x0, x1), torch.maximum(x0, x1)
    coords = [(c.clamp(-1, 1) + 1) / 2 for c in (lo_x, y0, hi_x, y1)]
    return torch.stack([(coords[0] + coords[2]) / 2, (coords[1] + coords[3]) / 2,
                        coords[2] - coords[0], coords[3] - coords[1]], dim=1)


def random_intensity(x: torch.Tensor, gen: torch.Generator, amount: float = 0.15) -> torch.Tensor:
    """Random contrast, brightness and gamma per image, result clamped to [0, 1]."""
    n = x.shape[0]
    c = 1 + (torch.rand(n, 1, 1, 1, generator=gen) * 2 - 1) * amount
    b = (torch.rand(n, 1, 1, 1, generator=gen) * 2 - 1) * amount / 2
    g = torch.exp((torch.rand(n, 1, 1, 1, generator=gen) * 2 - 1) * amount * 2)
    return (x.clamp(0, 1) ** g * c + b).clamp(0, 1)
