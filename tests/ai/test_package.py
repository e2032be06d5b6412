"""The model package contract: write, read back, and refuse what breaks it."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from tiny_models import package_for, pointwise_volume_model

from ai.package import (
    DISCLAIMER,
    META_FILE,
    MODEL_FILE,
    OperatingPoint,
    PackageError,
    load_package,
    package_to_dict,
    sha256_of,
    validate_package,
    write_package,
)


def test_write_then_load_round_trips(tmp_path: Path) -> None:
    written = write_package(tmp_path / "tiny", pointwise_volume_model(), package_for(),
                            model_card="# tiny\nnot for diagnostic use\n")
    loaded = load_package(tmp_path / "tiny")
    assert loaded == written
    assert loaded.sha256 == sha256_of(tmp_path / "tiny" / MODEL_FILE)
    assert (tmp_path / "tiny" / "MODEL_CARD.md").read_text().startswith("# tiny")
    data = json.loads((tmp_path / "tiny" / META_FILE).read_text())
    assert data["disclaimer"] == DISCLAIMER
    assert data["metrics"]["auc"] == {"value": 0.75, "ci95": [0.6, 0.9]}
    assert data["input"]["patch_size"] == [8, 8, 8]
    assert loaded.operating_point("nodule").threshold == 0.5


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"task": "regression"}, "task must be one of"),
        ({"target": "cat"}, "target must be one of"),
        ({"disclaimer": "fine for diagnosis"}, "not for diagnostic use"),
        ({"explanation": "cam_output"}, "needs an output named 'cam'"),
        ({"operating_points": (OperatingPoint("nodule", 0.5, 1.3, 0.7),)}, "measured rates in [0, 1]"),
        ({"operating_points": (OperatingPoint("kidney", 0.5, 0.8, 0.7),)}, "label is not one of"),
    ],
)
def test_invalid_descriptions_are_refused_with_the_reason(tmp_path: Path, change: dict, message: str) -> None:
    package = package_for(**change)
    with pytest.raises(PackageError, match=message.replace("[", r"\[").replace("]", r"\]")):
        write_package(tmp_path / "bad", pointwise_volume_model(), package)
    assert not (tmp_path / "bad").exists()


def test_input_axes_must_match_dimensionality() -> None:
    package = replace(package_for(), input=replace(package_for().input, axes="NCHW", patch_size=(8, 8)),
                      sha256="0" * 64)
    assert any("does not match scope.dimensionality" in p for p in validate_package(package))


def test_unreadable_or_incomplete_model_json_gives_a_clear_error(tmp_path: Path) -> None:
    folder = tmp_path / "m"
    write_package(folder, pointwise_volume_model(), package_for())
    (folder / META_FILE).write_text("{not json")
    with pytest.raises(PackageError, match="cannot read it as JSON"):
        load_package(folder)
    data = package_to_dict(package_for(sha256="0" * 64))
    del data["labels"]
    (folder / META_FILE).write_text(json.dumps(data))
    with pytest.raises(PackageError, match="missing the field 'labels'"):
        load_package(folder)
    (folder / MODEL_FILE).unlink()
    with pytest.raises(PackageError, match="model.onnx is missing"):
        load_package(folder)
