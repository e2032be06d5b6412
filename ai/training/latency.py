"""Latency of one shipped 2D model through the engine, for its card:
``python -m ai.training.latency MODEL IMAGE MODALITY OUT.json`` (median and p95 of 30 runs of
:func:`ai.analysis.run_pipeline` on one already opened session, and the ONNX file's size)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ai.analysis import run_pipeline
from ai.registry import ModelRegistry
from ai.runtime import get_session
from ai.training.evaluate import latency_ms
from ai.validation.predict import dataset_reader


def main() -> None:
    model, image_path, modality, out = sys.argv[1], Path(sys.argv[2]), sys.argv[3], Path(sys.argv[4])
    package = ModelRegistry().load(model)
    session = get_session(package.onnx_path)
    image = dataset_reader(image_path, modality)
    result = latency_ms(lambda: run_pipeline(package, image, session=session, check_scope=False))
    result["onnx_mib"] = round(package.onnx_path.stat().st_size / 2**20, 1)
    result["image"] = image_path.name
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
