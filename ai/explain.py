"""Explanation maps on the model input's grid.

(a) **In-graph CAM** (``explanation: "cam_output"``). Convention for exported models: input
``image`` (N, C, H, W) or (N, C, D, H, W) float32; outputs ``logits`` (N, classes) and ``cam``
(N, classes, *feature_spatial) - the last convolutional feature map weighted by the linear head's
weights, bias left out (see :mod:`ai.explain_export`). With a global-average-pool → linear head,
Grad-CAM's channel weights are the head's weights divided by the number of feature positions, so
the normalised Grad-CAM equals the normalised CAM. :func:`cam_map` applies ReLU, resizes linearly
to the input grid and normalises to [0, 1].

(b) **Occlusion fallback** for any ONNX model without a ``cam`` output: captum's ``Occlusion``
driving the onnxruntime session through a thin torch wrapper (:func:`occlusion_map`), or the same
computation in numpy where torch/captum are not installed. The window and stride are chosen so the
number of model evaluations stays within ``max_evals``; the evaluations made and the seconds spent
are reported in the :class:`Explanation`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ai.resample import normalise01, resize_linear
from ai.runtime import ModelSession

ScoreFn = Callable[[dict[str, np.ndarray]], np.ndarray]


class ExplainUnavailable(RuntimeError):
    """The requested explanation engine cannot run here (e.g. captum is not installed)."""


@dataclass
class Explanation:
    """A map in [0, 1] on the input grid, how it was made, and what it cost."""

    map: np.ndarray
    method: str
    class_index: int
    evaluations: int = 1
    seconds: float = 0.0


# --- (a) in-graph CAM -------------------------------------------------------------------------
def cam_map(cam: np.ndarray, class_index: int, input_shape: Sequence[int], item: int = 0) -> np.ndarray:
    """ReLU of ``cam[item, class_index]``, resized linearly to ``input_shape``, scaled to [0, 1]."""
    if cam.ndim != len(input_shape) + 2:
        raise ValueError(f"cam of shape {cam.shape} does not fit an input grid of {tuple(input_shape)}")
    positive = np.maximum(cam[item, class_index].astype(np.float64), 0.0)
    return normalise01(resize_linear(positive, input_shape))


# --- (b) occlusion ----------------------------------------------------------------------------
def shift_counts(shape: Sequence[int], window: Sequence[int], stride: Sequence[int]) -> list[int]:
    """Window positions per axis, as captum's Occlusion counts them."""
    return [math.ceil((s - w) / t) + 1 for s, w, t in zip(shape, window, stride, strict=True)]


def occlusion_plan(shape: Sequence[int], max_evals: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Window and stride (half-overlapping windows) whose positions fit in ``max_evals - 1``."""
    budget = max_evals - 1
    if budget < 1:
        raise ValueError("max_evals must be at least 2 (one plain run and one occluded)")
    fraction = 1.0 / 32.0
    while True:
        stride = tuple(max(1, math.ceil(s * fraction)) for s in shape)
        window = tuple(min(s, 2 * t) for s, t in zip(shape, stride, strict=True))
        if math.prod(shift_counts(shape, window, stride)) <= budget:
            return window, stride
        fraction *= 1.15


def _default_score(output_name: str | None, class_index: int) -> ScoreFn:
    def score(outputs: dict[str, np.ndarray]) -> np.ndarray:
        value = outputs[output_name] if output_name else next(iter(outputs.values()))
        return value.reshape(len(value), -1)[:, class_index]
    return score


class _Counter:
    """Runs the session on a batch and counts the images it evaluated."""

    def __init__(self, session: ModelSession, score: ScoreFn) -> None:
        self.session, self.score, self.evaluations = session, score, 0

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        self.evaluations += len(batch)
        return self.score(self.session.run(batch).outputs).astype(np.float32)


def _captum_occlusion(counter: _Counter, image: np.ndarray, window: tuple[int, ...],
                      stride: tuple[int, ...], baseline: float, batch: int) -> np.ndarray:
    try:
        import torch
        from captum.attr import Occlusion
    except ImportError as exc:
        raise ExplainUnavailable(f"captum occlusion needs torch and captum ({exc})") from exc

    def forward(x: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(counter(x.detach().cpu().numpy()))

    channels = image.shape[0]
    attribution = Occlusion(forward).attribute(
        torch.from_numpy(image[None].astype(np.float32)),
        sliding_window_shapes=(channels, *window), strides=(channels, *stride),
        baselines=baseline, perturbations_per_eval=batch)
    return attribution[0].sum(dim=0).numpy()


def _numpy_occlusion(counter: _Counter, image: np.ndarray, window: tuple[int, ...],
                     stride: tuple[int, ...], baseline: float, batch: int) -> np.ndarray:
    spatial = image.shape[1:]
    reference = counter(image[None])[0]
    starts = list(np.ndindex(*shift_counts(spatial, window, stride)))
    total = np.zeros(spatial, dtype=np.float64)
    count = np.zeros(spatial, dtype=np.float64)
    for first in range(0, len(starts), batch):
        chunk = starts[first:first + batch]
        regions = [tuple(slice(p * t, p * t + w) for p, t, w in zip(pos, stride, window, strict=True))
                   for pos in chunk]
        occluded = np.repeat(image[None], len(chunk), axis=0)
        for n, region in enumerate(regions):
            occluded[(n, slice(None), *region)] = baseline
        for region, score in zip(regions, counter(occluded), strict=True):
            total[region] += reference - score
            count[region] += 1
    return image.shape[0] * total / np.maximum(count, 1)


def occlusion_map(
    session: ModelSession,
    image: np.ndarray,
    class_index: int,
    output_name: str | None = None,
    score: ScoreFn | None = None,
    max_evals: int = 256,
    window: Sequence[int] | None = None,
    stride: Sequence[int] | None = None,
    baseline: float = 0.0,
    batch_size: int = 16,
    engine: str = "auto",
) -> Explanation:
    """Occlusion map of one input ``image`` (C, *spatial) for ``class_index``, on its grid.

    The score of an evaluation is ``outputs[output_name][:, class_index]`` (the first output when
    ``output_name`` is None) unless ``score`` maps the outputs to one value per image. Windows are
    filled with ``baseline``. ``engine``: "captum", "numpy" or "auto" (captum when installed).
    Raises ValueError when an explicit window/stride needs more than ``max_evals`` evaluations.
    """
    spatial = tuple(image.shape[1:])
    if window is None or stride is None:
        window, stride = occlusion_plan(spatial, max_evals)
    window, stride = tuple(window), tuple(stride)
    needed = math.prod(shift_counts(spatial, window, stride)) + 1
    if needed > max_evals:
        raise ValueError(f"occlusion with window {window} and stride {stride} needs {needed} "
                         f"evaluations, more than max_evals={max_evals}")
    counter = _Counter(session, score or _default_score(output_name, class_index))
    batch_size = min(batch_size, session.max_batch or batch_size)
    start = time.perf_counter()
    raw, method = _run_occlusion(engine, counter, image, window, stride, baseline, batch_size)
    seconds = time.perf_counter() - start
    heat = normalise01(np.maximum(raw, 0.0))
    return Explanation(heat, method, class_index, counter.evaluations, seconds)


def _run_occlusion(engine: str, counter: _Counter, image: np.ndarray, window: tuple[int, ...],
                   stride: tuple[int, ...], baseline: float, batch: int) -> tuple[np.ndarray, str]:
    if engine not in ("auto", "captum", "numpy"):
        raise ValueError(f"engine must be 'auto', 'captum' or 'numpy', got {engine!r}")
    if engine != "numpy":
        try:
            return _captum_occlusion(counter, image, window, stride, baseline, batch), "occlusion-captum"
        except ExplainUnavailable:
            if engine == "captum":
                raise
    return _numpy_occlusion(counter, image, window, stride, baseline, batch), "occlusion-numpy"
