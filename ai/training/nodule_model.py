"""Small 3D CNN scoring 32³ candidate patches (spacing: the patch contract): nodule vs background + CAM."""

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


def load_onnx_weights(net: NoduleNet, path) -> NoduleNet:
    """Initialise from an exported NoduleNet (ONNX, batch norm folded into the convolutions): each conv
    takes the folded weights, its batch norm becomes the identity plus the folded bias. Fine-tune with
    :func:`freeze_batch_norm` so that those layers stay what the export computed."""
    import onnx
    from onnx import numpy_helper

    initialisers = onnx.load(str(path)).graph.initializer
    weights = [numpy_helper.to_array(i) for i in initialisers]
    # a calibrated export wraps the net ("nets.0.fc.weight", before 3.1.0 "net.fc.weight"); a plain one
    # does not ("fc.weight")
    named = {i.name.removeprefix("nets.0.").removeprefix("net."): w
             for i, w in zip(initialisers, weights, strict=True)}
    convs = [w for w in weights if w.ndim == 5]
    biases = _conv_biases(weights)
    layers = [m for m in net.features if isinstance(m, nn.Sequential)]
    if len(convs) != len(layers) or "nets.1.fc.weight" in {i.name for i in initialisers}:
        raise ValueError(f"{path}: not one NoduleNet ({len(convs)} convolutions for {len(layers)} blocks; an "
                         "ensemble export cannot initialise one net — start from a member's weights)")
    with torch.no_grad():
        for block, w, b in zip(layers, convs, biases, strict=True):
            conv, bn = block[0], block[1]
            conv.weight.copy_(torch.from_numpy(w.copy()))
            bn.running_mean.zero_()
            bn.running_var.fill_(1.0 - bn.eps)
            bn.weight.fill_(1.0)
            bn.bias.copy_(torch.from_numpy(b.copy()))
        net.fc.weight.copy_(torch.from_numpy(named["fc.weight"].copy()))
        net.fc.bias.copy_(torch.from_numpy(named["fc.bias"].copy()))
    return net


def _conv_biases(weights: list) -> list:
    """The 1-D initialisers that directly follow a 5-D conv weight (the folded biases)."""
    return [b for w, b in zip(weights, weights[1:], strict=False) if w.ndim == 5 and b.ndim == 1]


def freeze_batch_norm(net: NoduleNet) -> None:
    """Batch norms use their stored statistics during training (called after ``net.train()``)."""
    for module in net.modules():
        if isinstance(module, nn.BatchNorm3d):
            module.eval()
