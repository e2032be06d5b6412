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


def exported_package(name: str, onnx_path: Path):
    """The shipped ``model.json`` of ``name`` pointed at a freshly exported ONNX file (its input contract,
    labels and operating point are what the product uses; the checksum is not checked here)."""
    from dataclasses import replace

    from ai.package import load_package
    from ai.training.common import MODELS

    return replace(load_package(MODELS / name), directory=Path(onnx_path).parent)


def product_session(onnx_path: Path, threads: int = 2):
    """An ``ai.runtime.ModelSession`` on CPU, for :func:`run_record`."""
    from ai.runtime import CPU, ModelSession

    return ModelSession(onnx_path, providers=[CPU], threads=threads)


def run_record(package, session, path: Path, modality: str):
    """The product's pipeline on one labelled file: ``run_pipeline`` on the file read as uint8 (like
    the product's reader), scope not checked (labelled JPEGs carry no DICOM header)."""
    from ai.analysis import run_pipeline
    from ai.validation.predict import dataset_reader

    return run_pipeline(package, dataset_reader(path, modality), session=session, check_scope=False)


def positive_map(result, finding) -> np.ndarray:
    """A finding's own map as a 2D array on the image grid."""
    from ai.region_map import full_map

    heat = full_map(result.maps[finding.explanation])
    return heat.reshape(heat.shape[-2:])


def xy_box(finding) -> tuple[float, float, float, float]:
    """A 2D finding's box ``(x0, y0, x1, y1)`` in pixels."""
    _, y0, x0, _, y1, x1 = finding.box_kji
    return (x0, y0, x1, y1)
