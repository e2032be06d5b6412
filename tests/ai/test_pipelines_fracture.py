"""The shipped fracture model through its pipeline: real onnxruntime, a fixed subset of its test split."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from shipped import MODELS, cpu_session, verified_package

from ai.analysis import run_pipeline
from ai.datasets import read_fracatlas
from ai.image import ImageInput

MODEL_DIR = MODELS / "fracture-radiograph"


@pytest.fixture(scope="module")
def package():
    return verified_package(MODEL_DIR.name)


@pytest.fixture(scope="module")
def session(package):
    return cpu_session(package)


@pytest.fixture(scope="module")
def cases(shared_data: Path) -> list[tuple[dict, object]]:
    folder = shared_data / "labelled" / "fracatlas"
    if not folder.is_dir():
        pytest.skip(f"labelled set not found at {folder}")
    expected = json.loads((MODEL_DIR / "subset_check.json").read_text())["cases"]
    by_id = {r.id: r for r in read_fracatlas(folder)}
    return [(case, by_id[case["id"]]) for case in expected]


def test_onnx_contract(session) -> None:
    outs = session.run(None, {"image": np.zeros((3, 1, 320, 320), np.float32)})
    names = [o.name for o in session.get_outputs()]
    assert dict(zip(names, (o.shape for o in outs), strict=True)) == {"logits": (3, 2), "cam": (3, 2, 20, 20)}


def test_subset_reproduces_recorded_outputs(package, cases) -> None:
    for case, record in cases:
        array = record.load().array
        result = run_pipeline(package, ImageInput(array[None], modality="DX", has_geometry=False))
        (finding,) = result.findings
        assert finding.score == pytest.approx(case["probability"], abs=2e-3), case["id"]
        assert result.maps[finding.explanation].shape == (1, *array.shape)
        _, y0, x0, _, y1, x1 = finding.box_kji
        assert np.allclose((x0, y0, x1, y1), case["box"], atol=1.0), case["id"]


def test_subset_ranks_fractures_above_normals(cases) -> None:
    """ROC AUC on the recorded subset (6 fractured, 6 normal) is well above chance."""
    pos = [c["probability"] for c, _ in cases if c["label"] == "fractured"]
    neg = [c["probability"] for c, _ in cases if c["label"] == "non_fractured"]
    pairs = [(p > n) + 0.5 * (p == n) for p in pos for n in neg]
    assert sum(pairs) / len(pairs) >= 0.6


def test_engine_path_uses_the_operating_point(package, cases) -> None:
    case, record = cases[0]
    image = ImageInput(record.load().array[None], spacing=(1.0, 1.0, 1.0), modality="DX", has_geometry=False)
    result = run_pipeline(package, image)
    (finding,) = result.findings
    point = package.operating_point("fracture")
    assert finding.score == pytest.approx(case["probability"], abs=2e-3)
    assert finding.passes_operating_point == (finding.score >= point.threshold)
    assert result.maps["fracture"].shape == (1, *record.load().array.shape)
