"""The shipped tumour model through its pipeline: real onnxruntime, a fixed subset of its test split."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from shipped import MODELS, cpu_session, verified_package

from ai.analysis import run_pipeline
from ai.datasets import read_brain_tumor
from ai.image import ImageInput

MODEL_DIR = MODELS / "tumour-mri"


@pytest.fixture(scope="module")
def package():
    return verified_package(MODEL_DIR.name)


@pytest.fixture(scope="module")
def session(package):
    return cpu_session(package)


@pytest.fixture(scope="module")
def cases(shared_data: Path) -> list[tuple[dict, object]]:
    folder = shared_data / "labelled" / "brain-tumor-mri"
    if not folder.is_dir():
        pytest.skip(f"labelled set not found at {folder}")
    expected = json.loads((MODEL_DIR / "subset_check.json").read_text())["cases"]
    by_id = {r.id: r for r in read_brain_tumor(folder)}
    return [(case, by_id[case["id"]]) for case in expected]


def test_onnx_contract(session) -> None:
    assert [i.name for i in session.get_inputs()] == ["image"]
    outs = session.run(None, {"image": np.zeros((2, 1, 224, 224), np.float32)})
    names = [o.name for o in session.get_outputs()]
    shapes = dict(zip(names, (o.shape for o in outs), strict=True))
    assert shapes == {"logits": (2, 3), "cam": (2, 3, 14, 14), "box": (2, 4)}


def test_subset_reproduces_recorded_outputs(package, cases) -> None:
    """Type, probability, box and map of 12 fixed test slices match what the export recorded."""
    for case, record in cases:
        image = ImageInput(record.load().array[None], modality="MR", has_geometry=False)
        result = run_pipeline(package, image)
        (finding,) = result.findings
        assert finding.label == case["predicted"], case["id"]
        assert result.probabilities[finding.label] == pytest.approx(case["probability"], abs=2e-3)
        _, y0, x0, _, y1, x1 = finding.box_kji
        assert np.allclose((x0, y0, x1, y1), case["box"], atol=1.0), case["id"]
        assert result.maps[finding.explanation].shape == (1, 512, 512)


def test_subset_better_than_chance(cases) -> None:
    """On the recorded subset (3 types × 4 neighbouring slices) types and boxes beat chance clearly."""
    right = sum(c["label"] == c["predicted"] for c, _ in cases)
    mean_iou = sum(c["iou"] for c, _ in cases) / len(cases)
    assert right / len(cases) > 0.5 and mean_iou > 0.3


def test_engine_path_gives_a_located_finding(package, cases) -> None:
    case, record = cases[0]
    image = ImageInput(record.load().array[None], spacing=(1.0, 1.0, 1.0), modality="MR", has_geometry=False)
    result = run_pipeline(package, image)
    (finding,) = result.findings
    assert finding.label == case["predicted"]
    k0, j0, i0, k1, j1, i1 = finding.box_kji
    assert np.allclose((i0, j0, i1, j1), case["box"], atol=1.0)
    heat = result.maps[finding.explanation]
    assert heat.shape == (1, 512, 512) and 0.0 <= heat.min() and heat.max() <= 1.0
    assert sum(result.probabilities.values()) == pytest.approx(1.0, abs=1e-5)
