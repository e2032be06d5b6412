"""Tiny real models for the AI engine tests: trained for a few steps here, exported to ONNX.

Each builder is cached for the test process (a model is trained and exported once) and returns
paths plus the torch modules it came from. Torch is needed to build them (the `train` extra).
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ai.package import (
    InputSpec,
    Metric,
    ModelPackage,
    OperatingPoint,
    OutputSpec,
    Scope,
    TrainingData,
)

_WORK = Path(tempfile.mkdtemp(prefix="radsight-tiny-models-"))
atexit.register(shutil.rmtree, _WORK, ignore_errors=True)

SIZE = 32  # blob images are SIZE x SIZE
BLOB = 8  # blob side in pixels


def blob_image(rng: np.random.Generator, with_blob: bool, at: tuple[int, int] | None = None) -> np.ndarray:
    """(1, SIZE, SIZE) noise, with a bright BLOB x BLOB square (at ``at`` or at random) if asked."""
    image = rng.normal(0.0, 0.3, size=(1, SIZE, SIZE)).astype(np.float32)
    if with_blob:
        j, i = at if at is not None else rng.integers(0, SIZE - BLOB, size=2)
        image[0, j:j + BLOB, i:i + BLOB] += 2.0
    return image


def blob_dataset(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2
    return np.stack([blob_image(rng, bool(y)) for y in labels]), labels


@dataclass
class TinyClassifier:
    """A trained blob detector: torch parts, and ONNX exports with and without a ``cam`` output."""

    backbone: Any
    head: Any
    cam_onnx: Path
    plain_onnx: Path


def _train(backbone: Any, head: Any, steps: int = 40) -> None:
    import torch

    torch.manual_seed(0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny tensors: one thread is fastest on a shared 2-core machine
    images, labels = blob_dataset(32, seed=1)
    x, y = torch.from_numpy(images), torch.from_numpy(labels).long()
    params = list(backbone.parameters()) + list(head.parameters())
    optimiser = torch.optim.Adam(params, lr=0.02)
    for _ in range(steps):
        optimiser.zero_grad()
        logits = head(backbone(x).mean(dim=(2, 3)))
        torch.nn.functional.cross_entropy(logits, y).backward()
        optimiser.step()
    torch.set_num_threads(threads)


@functools.cache
def blob_classifier() -> TinyClassifier:
    """2-class CNN (noise vs noise + bright square), GAP → linear head, exported twice."""
    import torch
    from torch import nn

    from ai.explain_export import export_with_cam

    torch.manual_seed(0)
    backbone = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(),
                             nn.Conv2d(8, 16, 3, padding=1, stride=2), nn.ReLU())
    head = nn.Sequential(nn.Dropout(0.0), nn.Linear(16, 2))
    _train(backbone, head)
    example = torch.zeros(1, 1, SIZE, SIZE)
    cam = export_with_cam(backbone, head, example, _WORK / "blob_cam.onnx")
    plain = export_with_cam(backbone, head, example, _WORK / "blob_plain.onnx", with_cam=False)
    return TinyClassifier(backbone.eval(), head.eval(), cam, plain)


def _export_volume_model(model: Any, name: str) -> Path:
    import torch

    path = _WORK / name
    axes = {0: "N", 2: "D", 3: "H", 4: "W"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(model.eval(), (torch.zeros(1, 1, 8, 8, 8),), str(path), dynamo=False,
                          input_names=["image"], output_names=["prob"],
                          dynamic_axes={"image": axes, "prob": axes})
    return path


@functools.cache
def pointwise_volume_model() -> Path:
    """3D model whose output at a voxel depends on that voxel only (1x1x1 convs): any tiling of a
    volume must give exactly the whole-volume result."""
    import torch
    from torch import nn

    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv3d(1, 4, 1), nn.Tanh(), nn.Conv3d(4, 2, 1), nn.Sigmoid())
    return _export_volume_model(model, "pointwise3d.onnx")


@functools.cache
def conv_volume_model() -> tuple[Path, Any]:
    """3D model with 3x3x3 convolutions (window borders matter): ONNX path and the torch module."""
    import torch
    from torch import nn

    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv3d(1, 4, 3, padding=1), nn.ReLU(), nn.Conv3d(4, 2, 3, padding=1))
    return _export_volume_model(model, "conv3d.onnx"), model.eval()


@functools.cache
def coarse_map_volume_model() -> Path:
    """3D model with a half-resolution map output ``coarse`` (N, 2, D/2, H/2, W/2) and a per-input
    ``score`` (N, 2) - like a CAM and logits."""
    import torch
    from torch import nn

    class Coarse(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv3d(1, 2, 1)

        def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            coarse = nn.functional.avg_pool3d(self.conv(image), 2)
            return coarse, coarse.mean(dim=(2, 3, 4))

    torch.manual_seed(0)
    path = _WORK / "coarse3d.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(Coarse().eval(), (torch.zeros(1, 1, 8, 8, 8),), str(path), dynamo=False,
                          input_names=["image"], output_names=["coarse", "score"],
                          dynamic_axes={"image": {0: "N"}, "coarse": {0: "N"}, "score": {0: "N"}})
    return path


def package_for(name: str = "tiny-nodule", **changes: object) -> ModelPackage:
    """A valid description of a 3D CT nodule classifier (sha256 is filled in by write_package)."""
    values: dict[str, object] = dict(
        name=name, version="0.0.1", task="classification", target="nodule",
        scope=Scope(modalities=("CT",), dimensionality="3d", body_parts=("CHEST", "LUNG"),
                    pixel_spacing_mm=(0.4, 1.2), slice_spacing_mm=(0.5, 3.0)),
        input=InputSpec(axes="NCDHW", patch_size=(8, 8, 8), spacing_mm=(1.0, 1.0, 1.0)),
        outputs=(OutputSpec("prob", "per-voxel probabilities, (N, 2, D, H, W)"),),
        labels=("background", "nodule"),
        operating_points=(OperatingPoint(label="nodule", threshold=0.5, sensitivity=0.8,
                                         specificity=0.7, measured_on="toy validation set"),),
        explanation="occlusion",
        training_data=TrainingData(name="toy", licence="CC0", split="none"),
        metrics={"auc": Metric(0.75, (0.6, 0.9))},
    )
    values.update(changes)
    return ModelPackage(**values)  # type: ignore[arg-type]


# The blob images as 8-bit PNG-like values: v = (x + 1) * 64; a package whose input spec undoes
# that (window 0..255 → [0, 1], then (y - 0.251) / 0.251) feeds the model what it was trained on.
PNG_SCALE = 64.0


def to_uint8(image: np.ndarray) -> np.ndarray:
    """A blob image (float, as trained) → uint8 pixel values."""
    return np.clip((image + 1.0) * PNG_SCALE, 0, 255).astype(np.uint8)


def blob_package(name: str = "tiny-blob", with_cam: bool = True, **changes: object) -> ModelPackage:
    """A 2D 'radiograph' package for the blob classifier, run by the generic classification pipeline."""
    from ai.package import Window

    std = PNG_SCALE / 255.0
    outputs = (OutputSpec("logits", "(N, 2) class scores"),)
    if with_cam:
        outputs += (OutputSpec("cam", "(N, 2, 16, 16) class activation maps"),)
    values: dict[str, object] = dict(
        name=name, version="0.1.0", task="classification", target="fracture", pipeline="classification",
        scope=Scope(modalities=("DX", "CR"), dimensionality="2d"),
        input=InputSpec(axes="NCHW", size=(SIZE, SIZE), window=Window(127.5, 255.0),
                        normalization="mean_std", mean=(std,), std=(std,)),
        outputs=outputs, labels=("background", "blob"),
        operating_points=(OperatingPoint(label="blob", threshold=0.5, sensitivity=0.9, specificity=0.9,
                                         measured_on="toy validation set"),),
        explanation="cam_output" if with_cam else "occlusion",
        training_data=TrainingData(name="toy blobs", licence="CC0", split="generated in the test"),
    )
    values.update(changes)
    return ModelPackage(**values)  # type: ignore[arg-type]


def install_blob_package(folder: Path, name: str = "tiny-blob", with_cam: bool = True) -> ModelPackage:
    """Write the blob package (CAM or plain export) into ``folder/<name>``."""
    from ai.package import write_package

    tiny = blob_classifier()
    onnx = tiny.cam_onnx if with_cam else tiny.plain_onnx
    return write_package(folder / name, onnx, blob_package(name, with_cam))
