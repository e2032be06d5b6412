"""Whole-scan nodule detection time: the shipped nodule-ct through the engine's steps on a full CT.

    .venv/bin/python bench/nodule_scan.py [--scan lidc-idri-0314] [--runs 2] [--json out.json]

Each run: ``pipeline.prepare`` (lung mask, candidates, patches on the model's grid), ``ai.analysis.run_model``
(onnxruntime, CPUExecutionProvider unless a GPU provider is present) and ``pipeline.interpret`` (marks,
masks, measurements, own explanation maps) on an already created session; DICOM loading excluded.
Reports wall seconds **and this process's CPU seconds** per step, and the load average before and after
the runs: on a shared machine the CPU seconds are the better estimate of the wall time on 2 idle cores.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import SimpleITK as sitk

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ai.analysis import run_model  # noqa: E402
from ai.image import ImageInput  # noqa: E402
from ai.package import load_package  # noqa: E402
from ai.pipelines.static_registry import get_pipeline  # noqa: E402
from ai.runtime import get_session  # noqa: E402

DATA = REPO.parent / "shared" / "data"


def read_ct(name: str) -> ImageInput:
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(DATA / "dicom" / name / "series")))
    img = reader.Execute()
    direction = np.array(img.GetDirection()).reshape(3, 3)
    return ImageInput(sitk.GetArrayFromImage(img).astype(np.int16), spacing=tuple(reversed(img.GetSpacing())),
                      origin=img.GetOrigin(), direction=direction, modality="CT")


def one_run(package, pipeline, session, image) -> dict[str, tuple[float, float]]:
    steps: dict[str, tuple[float, float]] = {}
    clock = (time.perf_counter(), time.process_time())

    def tick(name: str) -> None:
        nonlocal clock
        now = (time.perf_counter(), time.process_time())
        steps[name] = (now[0] - clock[0], now[1] - clock[1])
        clock = now

    prepared = pipeline.prepare(image, package)
    tick("prepare")
    outputs = run_model(package, session, prepared)
    tick("model")
    result = pipeline.interpret(image, package, prepared, outputs)
    tick("interpret")
    steps["total"] = (sum(v[0] for v in steps.values()), sum(v[1] for v in steps.values()))
    steps["candidates"] = (float(len(prepared.inputs)), float(len(result.findings)))
    return steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scan", default="lidc-idri-0314")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    package = load_package(REPO / "resources" / "models" / "nodule-ct")
    session = get_session(package.onnx_path)
    pipeline = get_pipeline(package)
    image = read_ct(args.scan)
    before = [round(v, 1) for v in os.getloadavg()]  # the 1-minute figure tells an idle machine
    runs = [one_run(package, pipeline, session, image) for _ in range(args.runs)]
    out = {"scan": args.scan, "provider": session.provider, "runs": args.runs,
           "load_average_before": before, "load_average": [round(v, 1) for v in os.getloadavg()]}
    for step in ("prepare", "model", "interpret", "total"):
        out[f"{step}_wall_s"] = round(statistics.median(r[step][0] for r in runs), 2)
        out[f"{step}_cpu_s"] = round(statistics.median(r[step][1] for r in runs), 2)
    out["candidates"], out["findings_listed"] = (int(v) for v in runs[0]["candidates"])
    for key, value in out.items():
        print(f"{key} {value}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
