"""onnxruntime sessions: providers, threads, a session cache, batching and sliding windows.

* Providers are tried in the order CUDA → CPU. CUDA is only asked for when onnxruntime offers it
  *and* the NVIDIA driver library can be loaded (:func:`cuda_usable`), so a CPU-only machine does
  not get onnxruntime's "cannot load CUDA" error on every session. What actually ran is read back
  from ``session.get_providers()`` and reported with the time taken in every :class:`RunResult`.
* Threads: ``threads`` argument, else ``$RADSIGHT_ORT_THREADS``, else onnxruntime's default.
* :func:`get_session` caches sessions by file (path, size, mtime), providers and threads.
* :func:`run_batched` splits N items into batches; :func:`sliding_window` tiles a volume with
  overlapping patches and blends them with gaussian, linear or constant weights (patch positions
  and the gaussian follow MONAI's ``sliding_window_inference``).
* Both take ``progress(done, total)`` and a ``threading.Event``; when the event is set the run stops
  before the next batch and raises :class:`Cancelled`.
"""

from __future__ import annotations

import ctypes
import logging
import math
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path

import numpy as np
import onnxruntime as ort

from ai.resample import resize_linear

log = logging.getLogger(__name__)

CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"
ENV_THREADS = "RADSIGHT_ORT_THREADS"
ENV_NO_CUDA = "RADSIGHT_NO_CUDA"

Progress = Callable[[int, int], None]


class Cancelled(Exception):
    """The caller's cancel event was set; the run stopped before finishing."""


# --- providers and sessions -------------------------------------------------------------------
def _driver_library_loads() -> bool:
    names = {"win32": ["nvcuda.dll"], "linux": ["libcuda.so.1", "libcuda.so"]}.get(sys.platform, [])
    for name in names:
        try:
            ctypes.CDLL(name)
            return True
        except OSError:
            continue
    return False


def cuda_unavailable_reason() -> str | None:
    """Why CUDA will not be asked for, in plain words; None when it will be.

    ``$RADSIGHT_NO_CUDA`` (any non-empty value) forces CPU.
    """
    if os.environ.get(ENV_NO_CUDA):
        return f"CUDA switched off (${ENV_NO_CUDA} is set)"
    if CUDA not in ort.get_available_providers():
        return "this onnxruntime has no CUDA provider (CPU build)"
    if not _driver_library_loads():
        return "no CUDA device: the NVIDIA driver (libcuda.so.1) is not installed"
    _preload_cuda_libraries()
    return None


_PRELOADED: list[bool] = []


def _preload_cuda_libraries() -> None:
    """Load the CUDA/cuDNN runtime wheels' libraries once (GPU bundle: only the driver is needed)."""
    if _PRELOADED or not hasattr(ort, "preload_dlls"):
        return
    _PRELOADED.append(True)
    try:
        ort.preload_dlls()
    except (OSError, RuntimeError) as exc:  # the CUDA provider then fails and CPU runs
        log.warning("could not preload the CUDA libraries: %s", exc)


def cuda_usable() -> bool:
    """True when onnxruntime has a CUDA provider and the NVIDIA driver is present."""
    return cuda_unavailable_reason() is None


def default_providers() -> list[str]:
    """Providers to ask for, best first: CUDA (when usable) then CPU."""
    return [CUDA, CPU] if cuda_usable() else [CPU]


def _threads(threads: int | None) -> int:
    if threads is not None:
        return max(0, int(threads))
    env = os.environ.get(ENV_THREADS, "")
    return int(env) if env.isdigit() else 0


def _options(threads: int | None) -> ort.SessionOptions:
    options = ort.SessionOptions()
    options.intra_op_num_threads = _threads(threads)
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # errors only
    return options


@dataclass
class RunResult:
    """Outputs by name, the provider that ran them, wall time and number of session runs."""

    outputs: dict[str, np.ndarray]
    provider: str
    seconds: float
    runs: int = 1


class ModelSession:
    """One onnxruntime session and what is known about its single image input."""

    def __init__(self, path: str | Path, providers: Sequence[str] | None = None,
                 threads: int | None = None) -> None:
        self.path = Path(path)
        requested = list(providers) if providers is not None else default_providers()
        start = time.perf_counter()
        self.session = ort.InferenceSession(str(self.path), sess_options=_options(threads),
                                            providers=requested)
        self.load_seconds = time.perf_counter() - start
        self.providers: list[str] = list(self.session.get_providers())
        if CUDA in requested and CUDA not in self.providers:
            log.warning("onnxruntime could not start CUDA for %s; running on CPU", self.path.name)
        first = self.session.get_inputs()[0]
        self.input_name: str = first.name
        self.input_shape: list[int | str | None] = list(first.shape)
        self.output_names: list[str] = [o.name for o in self.session.get_outputs()]

    @property
    def provider(self) -> str:
        """The provider onnxruntime actually uses first for this session."""
        return self.providers[0]

    @property
    def max_batch(self) -> int | None:
        """The fixed batch size of the input when the graph has one, else None (dynamic)."""
        batch = self.input_shape[0] if self.input_shape else None
        return batch if isinstance(batch, int) and batch > 0 else None

    def run(self, feeds: np.ndarray | Mapping[str, np.ndarray],
            output_names: Sequence[str] | None = None) -> RunResult:
        """Run once; ``feeds`` is the image array or a name → array mapping."""
        if isinstance(feeds, np.ndarray):
            feeds = {self.input_name: feeds}
        feeds = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in feeds.items()}
        names = list(output_names) if output_names else self.output_names
        start = time.perf_counter()
        values = self.session.run(names, feeds)
        seconds = time.perf_counter() - start
        return RunResult(dict(zip(names, values, strict=True)), self.provider, seconds)


_CACHE: dict[tuple, ModelSession] = {}
_CACHE_LOCK = threading.Lock()


def get_session(path: str | Path, providers: Sequence[str] | None = None,
                threads: int | None = None) -> ModelSession:
    """A cached :class:`ModelSession` (a new one when the file changed on disk)."""
    path = Path(path).resolve()
    stat = path.stat()
    wanted = tuple(providers) if providers is not None else tuple(default_providers())
    key = (str(path), stat.st_size, stat.st_mtime_ns, wanted, _threads(threads))
    with _CACHE_LOCK:
        session = _CACHE.get(key)
        if session is None:
            for old in [k for k in _CACHE if k[0] == key[0]]:
                del _CACHE[old]
            session = _CACHE[key] = ModelSession(path, wanted, threads)
        return session


def clear_session_cache() -> None:
    """Drop every cached session."""
    with _CACHE_LOCK:
        _CACHE.clear()


# --- batching ---------------------------------------------------------------------------------
def _check_cancel(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise Cancelled("inference cancelled")


def _batch_size(session: ModelSession, batch_size: int) -> int:
    fixed = session.max_batch
    return max(1, min(batch_size, fixed) if fixed else batch_size)


def run_batched(session: ModelSession, images: np.ndarray, batch_size: int = 8,
                output_names: Sequence[str] | None = None, progress: Progress | None = None,
                cancel: threading.Event | None = None) -> RunResult:
    """Run ``images`` (N, C, ...) in batches and concatenate each output along N."""
    size = _batch_size(session, batch_size)
    total = math.ceil(len(images) / size)
    parts: dict[str, list[np.ndarray]] = {}
    seconds = 0.0
    for index in range(total):
        _check_cancel(cancel)
        result = session.run(images[index * size:(index + 1) * size], output_names)
        seconds += result.seconds
        for name, value in result.outputs.items():
            parts.setdefault(name, []).append(value)
        if progress is not None:
            progress(index + 1, total)
    outputs = {name: np.concatenate(values, axis=0) for name, values in parts.items()}
    return RunResult(outputs, session.provider, seconds, runs=total)


# --- sliding window ---------------------------------------------------------------------------
def window_starts(size: int, patch: int, overlap: float) -> list[int]:
    """Start indices of windows of ``patch`` along an axis of ``size`` (MONAI's positions)."""
    if size <= patch:
        return [0]
    interval = max(int(patch * (1.0 - overlap)), 1)
    count = math.ceil((size - patch) / interval) + 1
    return [min(i * interval, size - patch) for i in range(count)]


def blend_weights(patch: Sequence[int], mode: str = "gaussian", sigma_scale: float = 0.125) -> np.ndarray:
    """Per-voxel weight of a patch: 'gaussian' (as MONAI), 'linear' (tent) or 'constant'."""
    weights = np.ones((), dtype=np.float64)
    for n in patch:
        x = np.arange(n, dtype=np.float64) - (n - 1) / 2.0
        if mode == "gaussian":
            axis = np.exp(-(x**2) / (2.0 * (sigma_scale * n) ** 2))
        elif mode == "linear":
            axis = 1.0 - np.abs(x) / (n / 2.0 + 0.5)
        elif mode == "constant":
            axis = np.ones(n)
        else:
            raise ValueError(f"blend mode must be 'gaussian', 'linear' or 'constant', got {mode!r}")
        weights = np.multiply.outer(weights, axis)
    weights = weights.astype(np.float32)
    return np.maximum(weights, max(float(weights.min()), 1e-3))


@dataclass
class WindowOutput:
    """Outputs of one window that are not maps (e.g. logits), with where the window starts."""

    start: tuple[int, ...]
    outputs: dict[str, np.ndarray]


@dataclass
class SlidingWindowResult:
    """Blended maps (C, *volume) by output name, per-window other outputs, provider and time."""

    maps: dict[str, np.ndarray]
    windows: list[WindowOutput] = field(default_factory=list)
    provider: str = CPU
    seconds: float = 0.0
    runs: int = 0


def _pad_to(volume: np.ndarray, patch: Sequence[int], value: float) -> tuple[np.ndarray, list[slice]]:
    """Pad the spatial axes of (C, *spatial) symmetrically up to ``patch``; slices to crop back."""
    pads, crop = [(0, 0)], [slice(None)]
    for size, n in zip(volume.shape[1:], patch, strict=True):
        diff = max(n - size, 0)
        pads.append((diff // 2, diff - diff // 2))
        crop.append(slice(diff // 2, diff // 2 + size))
    if any(p != (0, 0) for p in pads):
        volume = np.pad(volume, pads, constant_values=value)
    return volume, crop


def _windows(shape: Sequence[int], patch: Sequence[int], overlap: float) -> list[tuple[int, ...]]:
    axes = [window_starts(s, p, overlap) for s, p in zip(shape, patch, strict=True)]
    return list(product(*axes))


def _chunks(items: list, size: int) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


class _Blender:
    """Accumulates weighted window outputs into full-size maps."""

    def __init__(self, shape: Sequence[int], patch: Sequence[int], weights: np.ndarray) -> None:
        self.shape, self.patch, self.weights = tuple(shape), tuple(patch), weights
        self.sums: dict[str, np.ndarray] = {}
        self.count = np.zeros(self.shape, dtype=np.float32)

    def is_map(self, value: np.ndarray) -> bool:
        return value.ndim == len(self.patch) + 2

    def add(self, name: str, start: tuple[int, ...], value: np.ndarray) -> None:
        if value.shape[2:] != self.patch:
            value = resize_linear(value, self.patch)
        acc = self.sums.setdefault(name, np.zeros((value.shape[1], *self.shape), dtype=np.float32))
        region = tuple(slice(s, s + n) for s, n in zip(start, self.patch, strict=True))
        acc[(slice(None), *region)] += value[0] * self.weights

    def add_count(self, start: tuple[int, ...]) -> None:
        region = tuple(slice(s, s + n) for s, n in zip(start, self.patch, strict=True))
        self.count[region] += self.weights

    def result(self) -> dict[str, np.ndarray]:
        return {name: acc / self.count for name, acc in self.sums.items()}


def sliding_window(
    session: ModelSession,
    volume: np.ndarray,
    patch_size: Sequence[int],
    overlap: float = 0.25,
    mode: str = "gaussian",
    batch_size: int = 4,
    pad_value: float = 0.0,
    output_names: Sequence[str] | None = None,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> SlidingWindowResult:
    """Tile ``volume`` (C, *spatial) with overlapping patches, run them, blend the maps.

    Outputs shaped (N, C', *spatial) are maps: resized to the patch when smaller (e.g. a CAM),
    weighted by :func:`blend_weights` and averaged into (C', *spatial) on the volume's grid. Other
    outputs (e.g. logits) come back per window in ``windows``.
    """
    if volume.ndim != len(patch_size) + 1:
        raise ValueError(f"volume must be (C, *spatial) for a {len(patch_size)}D patch, got {volume.shape}")
    patch = tuple(int(p) for p in patch_size)
    padded, crop = _pad_to(volume.astype(np.float32, copy=False), patch, pad_value)
    starts = _windows(padded.shape[1:], patch, overlap)
    blender = _Blender(padded.shape[1:], patch, blend_weights(patch, mode))
    result = SlidingWindowResult(maps={}, provider=session.provider)
    batches = list(_chunks(starts, _batch_size(session, batch_size)))
    for done, batch in enumerate(batches, start=1):
        _check_cancel(cancel)
        crops = [padded[(slice(None), *(slice(s, s + n) for s, n in zip(st, patch, strict=True)))]
                 for st in batch]
        run = session.run(np.stack(crops), output_names)
        result.seconds += run.seconds
        _collect(blender, result, batch, run.outputs)
        if progress is not None:
            progress(done, len(batches))
    result.runs = len(batches)
    result.maps = {name: value[tuple(crop)] for name, value in blender.result().items()}
    return result


def _collect(blender: _Blender, result: SlidingWindowResult, batch: list[tuple[int, ...]],
             outputs: Mapping[str, np.ndarray]) -> None:
    for item, start in enumerate(batch):
        blender.add_count(start)
        other: dict[str, np.ndarray] = {}
        for name, value in outputs.items():
            if blender.is_map(value):
                blender.add(name, start, value[item:item + 1])
            else:
                other[name] = value[item]
        if other:
            result.windows.append(WindowOutput(start, other))
