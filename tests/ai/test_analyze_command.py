"""`radsight analyze` end to end on real files with a real (tiny) installed model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from tiny_models import blob_image, blob_package, install_blob_package, to_uint8

from ai.package import MODEL_FILE, Scope, write_package
from ai.registry import ENV_MODELS_DIR
from viewer.cli import main


@pytest.fixture
def models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "models"
    install_blob_package(folder)
    monkeypatch.setenv(ENV_MODELS_DIR, str(folder))
    return folder


def _png(path: Path, at: tuple[int, int] = (4, 18)) -> Path:
    """A 64 x 64 PNG with the blob at rows/columns 2*at .. 2*at + 16."""
    image = blob_image(np.random.default_rng(12), True, at=at)[0]
    Image.fromarray(to_uint8(np.kron(image, np.ones((2, 2))))).save(path)
    return path


def test_writes_findings_and_an_overlay(models: Path, tmp_path: Path, output_dir: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert main(["analyze", str(_png(tmp_path / "xray.png")), "--model", "tiny-blob", "--out", str(out),
                 "--modality", "dx"]) == 0
    document = json.loads((out / "findings.json").read_text())
    assert document["disclaimer"] == "not for diagnostic use"
    [finding] = document["findings"]
    assert finding["label"] == "blob" and finding["passes_operating_point"]
    assert finding["model"] == "tiny-blob" and finding["model_version"] == "0.1.0"
    [series] = document["series"]
    assert series["models"][0]["provider"].endswith("ExecutionProvider") and series["unit"] == "px"
    overlay = np.asarray(Image.open(out / finding["explanation"]).convert("RGB")).astype(int)
    Image.fromarray(overlay.astype(np.uint8)).save(output_dir / "analyze_overlay.png")
    _, j0, i0, _, j1, i1 = (int(round(v)) for v in finding["box_kji"])
    assert 4 <= j0 <= 12 and 32 <= i0 <= 40  # the box lies on the blob (rows 8-23, columns 36-51)
    assert tuple(overlay[j0, (i0 + i1) // 2]) == (255, 40, 40)  # red box edge: passes
    r, g, b = overlay[16, 44]
    assert r > b + 60  # hot (red/yellow) heat on the blob
    far = overlay[56, 4]
    assert abs(far[0] - far[2]) < 8  # plain grey far from it
    assert "blob: score" in capsys.readouterr().out
    # the finding's own explanation: the PNG above, its map's numbers, and where the map peaks (pixels)
    with np.load(out / finding["explanation_map"]) as saved:
        assert saved["values"].shape == (1, 64, 64) and saved["values"].max() == pytest.approx(1.0)
    _, pj, pi = finding["explanation_peak_kji"]
    assert 4 <= pj <= 28 and 32 <= pi <= 56
    assert finding["explanation_peak_mm"] == [pi, pj, 0.0]  # a plain image: its pixel position (x, y)
    assert finding["hidden_by"] is None and "marked unless another rule" in document["marking"]


def test_nothing_applies_exits_non_zero_with_the_reason(models: Path, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    ct_only = blob_package("ct-only", scope=Scope(modalities=("CT",), dimensionality="2d"))
    write_package(models / "ct-only", models / "tiny-blob" / MODEL_FILE, ct_only)
    png = _png(tmp_path / "x.png")
    code = main(["analyze", str(png), "--model", "ct-only", "--out", str(tmp_path / "o"), "--modality", "DX"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 3
    assert err[-1] == ("radsight analyze: no model applies: "
                       "series 1: model 'ct-only' is for CT images; this one is DX")


def test_plain_image_of_undeclared_kind_runs_no_model(models: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """A PNG does not say whether it is a radiograph or an MR slice: no model guesses."""
    png = _png(tmp_path / "x.png")
    code = main(["analyze", str(png), "--model", "tiny-blob", "--out", str(tmp_path / "o")])
    assert code == 3
    assert "this plain image does not say (declare it a radiograph or an MR slice first)" \
        in capsys.readouterr().err


def test_three_d_series_is_refused_by_a_radiograph_model(models: Path, tmp_path: Path, dicom_data: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    series = dicom_data / "ge-brain-mr-20" / "series"
    if not series.is_dir():
        pytest.skip(f"{series} not found")
    code = main(["analyze", str(series), "--model", "tiny-blob", "--out", str(tmp_path / "o")])
    assert code == 3
    assert "is for DX/CR images; this one is MR" in capsys.readouterr().err


def test_tampered_model_and_missing_path_are_refused(models: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    png = _png(tmp_path / "x.png")
    assert main(["analyze", str(tmp_path / "nope"), "--out", str(tmp_path / "o")]) == 2
    assert "does not exist" in capsys.readouterr().err
    onnx = models / "tiny-blob" / MODEL_FILE
    onnx.write_bytes(onnx.read_bytes() + b"\0")
    assert main(["analyze", str(png), "--model", "tiny-blob", "--out", str(tmp_path / "o"),
                 "--modality", "DX"]) == 2
    assert "refused" in capsys.readouterr().err
