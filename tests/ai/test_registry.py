"""Model registry: folders, checksum refusal, scope gating."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import pytest
from tiny_models import package_for, pointwise_volume_model

from ai.package import MODEL_FILE, Scope, write_package
from ai.registry import (
    ENV_MODELS_DIR,
    ChecksumMismatch,
    ImageFacts,
    ModelNotFound,
    ModelRegistry,
    OutOfScope,
    builtin_models_dir,
    check_scope,
    require_scope,
    user_models_dir,
)

CT_CHEST = ImageFacts("CT", is_2d=False, spacing=(1.0, 0.7, 0.7), body_part="CHEST")


def _registry(tmp_path: Path) -> ModelRegistry:
    return ModelRegistry([("builtin", tmp_path / "builtin"), ("user", tmp_path / "user")])


def test_loads_a_verified_model_and_refuses_a_tampered_one(tmp_path: Path) -> None:
    write_package(tmp_path / "builtin" / "tiny", pointwise_volume_model(), package_for("tiny"))
    registry = _registry(tmp_path)
    assert registry.load("tiny").name == "tiny"
    onnx = tmp_path / "builtin" / "tiny" / MODEL_FILE
    data = bytearray(onnx.read_bytes())
    data[-1] ^= 0xFF
    onnx.write_bytes(bytes(data))
    with pytest.raises(ChecksumMismatch, match="refused.*does not match the SHA-256.*reinstall"):
        registry.load("tiny")


def test_user_folder_from_environment_shadows_builtin(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_MODELS_DIR, str(tmp_path / "user"))
    assert user_models_dir() == tmp_path / "user"
    write_package(tmp_path / "builtin" / "a", pointwise_volume_model(), package_for("tiny"))
    write_package(tmp_path / "user" / "b", pointwise_volume_model(), package_for("tiny", version="0.0.2"))
    write_package(tmp_path / "user" / "c", pointwise_volume_model(), package_for("other"))
    (tmp_path / "user" / "broken").mkdir()
    (tmp_path / "user" / "broken" / "model.json").write_text("[]")
    registry = ModelRegistry([("builtin", tmp_path / "builtin"), ("user", user_models_dir())])
    entries = {e.name: e for e in registry.entries()}
    assert set(entries) == {"tiny", "other"}
    assert entries["tiny"].source == "user" and entries["tiny"].package.version == "0.0.2"
    assert any("broken" in p for p in registry.problems)
    with pytest.raises(ModelNotFound, match="no model named 'nope' .*installed: other, tiny"):
        registry.load("nope")


def test_builtin_folder_inside_a_frozen_bundle(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert builtin_models_dir() == Path(__file__).resolve().parents[2] / "resources" / "models"
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert builtin_models_dir() == tmp_path / "resources" / "models"


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        (CT_CHEST, None),
        (replace(CT_CHEST, body_part=None), None),
        (replace(CT_CHEST, modality="MR"), "is for CT images; this one is MR"),
        (ImageFacts("CT", True, (1.0, 0.7, 0.7)), "reads 3D volumes; this is a single 2D image"),
        (replace(CT_CHEST, spacing=(1.0, 2.5, 2.5)),
         "accepts pixels of 0.4-1.2 mm; this image has 2.5 x 2.5 mm"),
        (replace(CT_CHEST, spacing=(5.0, 0.7, 0.7)), "accepts slices 0.5-3 mm apart; this volume has 5 mm"),
        (replace(CT_CHEST, spacing=None), "needs the pixel spacing in mm; this image has none"),
        (replace(CT_CHEST, body_part="HEAD"), "is for chest/lung; this image is of head"),
    ],
)
def test_scope_gating_says_why(facts: ImageFacts, expected: str | None) -> None:
    package = package_for("ct-nodule")
    reason = check_scope(package, facts.modality, facts.is_2d, facts.spacing, facts.body_part)
    if expected is None:
        assert reason is None
    else:
        assert reason == f"model 'ct-nodule' {expected}"


def test_radiograph_model_refuses_ct_and_registry_filters(tmp_path: Path) -> None:
    radiograph = package_for("xray", scope=Scope(modalities=("CR", "DX"), dimensionality="2d"),
                             input=replace(package_for().input, axes="NCHW", patch_size=None,
                                           size=(32, 32), spacing_mm=None))
    with pytest.raises(OutOfScope, match="model 'xray' is for CR/DX images; this one is CT"):
        require_scope(radiograph, CT_CHEST)
    assert check_scope(radiograph, "DX", True, None) is None
    write_package(tmp_path / "user" / "xray", pointwise_volume_model(), radiograph)
    write_package(tmp_path / "user" / "ct", pointwise_volume_model(), package_for("ct"))
    accepted, refused = _registry(tmp_path).applicable(CT_CHEST)
    assert [p.name for p in accepted] == ["ct"]
    assert refused == {"xray": "model 'xray' is for CR/DX images; this one is CT"}
