"""Export a torch classifier to ONNX with its class activation map as a second output.

Used by the training code (torch is an optional extra, imported only inside these functions)::

    from ai.explain_export import export_with_cam
    export_with_cam(backbone, head, torch.zeros(1, 3, 224, 224), "model.onnx")

``backbone(x)`` must return the last convolutional feature map (N, F, h, w) or (N, F, d, h, w);
``head`` is an ``nn.Linear(F, classes)``, or an ``nn.Sequential`` made of one such Linear plus
Dropout/Identity/Flatten. The exported graph computes ``logits = head(mean(features))`` and
``cam = conv1x1(features, head.weight)`` (bias left out), i.e. outputs ``logits`` (N, classes) and
``cam`` (N, classes, *feature_spatial), input ``image``; the batch axis is dynamic. With
``with_cam=False`` only ``logits`` is exported (the same network, for comparison).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def linear_of(head: Any) -> Any:
    """The single ``nn.Linear`` of ``head`` (raises TypeError when CAM would not equal Grad-CAM)."""
    from torch import nn

    if isinstance(head, nn.Linear):
        return head
    passive = (nn.Dropout, nn.Identity, nn.Flatten)
    if isinstance(head, nn.Sequential):
        linears = [m for m in head if isinstance(m, nn.Linear)]
        others = [m for m in head if not isinstance(m, (nn.Linear, *passive))]
        if len(linears) == 1 and not others:
            return linears[0]
    raise TypeError("head must be one nn.Linear (optionally with Dropout/Identity/Flatten) for an exact CAM")


def cam_model(backbone: Any, head: Any, with_cam: bool = True) -> Any:
    """A torch module ``image → (logits, cam)`` (or ``logits``) around ``backbone`` and ``head``."""
    import torch
    from torch import nn

    linear = linear_of(head)

    class CamModel(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.backbone, self.head = backbone, head

        def forward(self, image: torch.Tensor) -> Any:
            features = self.backbone(image)
            logits = self.head(features.mean(dim=tuple(range(2, features.ndim))))
            if not with_cam:
                return logits
            weight = linear.weight.reshape(*linear.weight.shape, *([1] * (features.ndim - 2)))
            conv = nn.functional.conv2d if features.ndim == 4 else nn.functional.conv3d
            return logits, conv(features, weight)

    return CamModel().eval()


def export_with_cam(backbone: Any, head: Any, example: Any, path: str | Path, with_cam: bool = True,
                    opset: int = 17) -> Path:
    """Export ``backbone`` + ``head`` to ``path`` (ONNX) with outputs ``logits`` and ``cam``."""
    import warnings

    import torch

    model = cam_model(backbone, head, with_cam)
    outputs = ["logits", "cam"] if with_cam else ["logits"]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the TorchScript exporter is intended
        torch.onnx.export(
            model, (example,), str(path), dynamo=False, opset_version=opset,
            input_names=["image"], output_names=outputs,
            dynamic_axes={name: {0: "N"} for name in ["image", *outputs]},
        )
    return path
