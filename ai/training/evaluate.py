"""Shared evaluation helpers for the export scripts: ORT sessions, latency, metric dicts, packages."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import onnxruntime as ort


def cpu_session(path: Path, threads: int = 2) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def latency_ms(fn, repeats: int = 30, warmup: int = 3) -> dict[str, float]:
    """Median and p95 wall time of ``fn()`` in ms."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    median, p95 = np.median(times), np.percentile(times, 95)
    return {"median_ms": round(float(median), 1), "p95_ms": round(float(p95), 1)}


def metric_objects(metrics: dict[str, dict]) -> dict:
    """Our ``{"value", "ci95", "n"}`` dicts → ``ai.package.Metric`` for model.json."""
    from ai.package import Metric

    return {k: Metric(float(v["value"]), tuple(v["ci95"]) if v.get("ci95") else None)
            for k, v in metrics.items() if np.isfinite(v["value"])}


def fmt(metric: dict) -> str:
    """``0.912 (95 % CI 0.88–0.94, n = 345)``."""
    lo, hi = metric["ci95"]
    return f"{metric['value']:.3f} (95 % CI {lo:.3f}–{hi:.3f}, n = {metric['n']})"
