"""The shipped model packages under test: checksum-verified package and a CPU session."""

from __future__ import annotations

from pathlib import Path

import onnxruntime as ort

from ai.package import ModelPackage, load_package
from ai.registry import verify_checksum

MODELS = Path(__file__).resolve().parents[2] / "resources" / "models"


def verified_package(name: str) -> ModelPackage:
    package = load_package(MODELS / name)
    verify_checksum(package)
    return package


def cpu_session(package: ModelPackage) -> ort.InferenceSession:
    return ort.InferenceSession(str(package.onnx_path), providers=["CPUExecutionProvider"])
