"""The shipped tumour model through the product's path: real onnxruntime, real Br35H and brain-tumor-mri
slices read by the product's reader; presence, type, box and the "no tumour" answer."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from shipped import MODELS, cpu_session, verified_package

from ai.analysis import run_pipeline
from ai.datasets import read_br35h, read_split_csv
from ai.pipelines import tumour as pipe
from ai.validation.metrics import box_iou
from viewer.analysis import read_image_input

MODEL_DIR = MODELS / "tumour-mri"


@pytest.fixture(scope="module")
def package():
    return verified_package(MODEL_DIR.name)


@pytest.fixture(scope="module")
def br35h_test(shared_data: Path) -> list:
    folder = shared_data / "labelled" / "br35h"
    if not folder.is_dir():
        pytest.skip(f"labelled set not found at {folder}")
    split = read_split_csv(MODEL_DIR / "split_br35h.csv")
    return [r for r in read_br35h(folder) if split[r.id] == "test"]


def test_onnx_contract(package) -> None:
    session = cpu_session(package)
    outs = session.run(None, {"image": np.zeros((2, 1, 224, 224), np.float32)})
    shapes = {o.name: v.shape for o, v in zip(session.get_outputs(), outs, strict=True)}
    assert shapes == {
        "presence": (2,),
        "logits": (2, 3),
        "cam": (2, 4, 14, 14),
        "box": (2, 4),
        "ood_distance": (2,),
    }


def _analyse(package, path: Path):
    return run_pipeline(package, read_image_input(path, "MR"))


def test_br35h_slices_without_tumour_get_no_finding(package, br35h_test) -> None:
    """The first 10 tumour-free test slices: at the operating point (validation specificity ≥ 0.92) at
    most 2 get a finding; those without say so in a note, with no map."""
    negatives = [r for r in br35h_test if r.label_index == 0][:10]
    results = [_analyse(package, r.path) for r in negatives]
    empty = [res for res in results if not res.findings]
    assert len(empty) >= 8
    for res in empty:
        assert not res.maps and res.notes[0].startswith("no tumour found")
        assert res.probabilities["no tumour"] > 1 - pipe.presence_threshold(package)


def test_br35h_tumour_slices_get_a_box_on_the_tumour(package, br35h_test) -> None:
    """The first 10 test slices with a tumour: at the operating point (Br35H test sensitivity 0.87) at
    least 8 get a finding (10 with 4.0.0), and most of those boxes match the annotation at IoU ≥ 0.5
    (9 of 10 with 4.0.0; the lowest IoU 0.37)."""
    positives = [r for r in br35h_test if r.label_index == 1][:10]
    ious = []
    for rec in positives:
        result = _analyse(package, rec.path)
        if result.findings:
            k0, j0, i0, k1, j1, i1 = result.findings[0].box_kji
            ious.append(float(box_iou(np.array([[i0, j0, i1, j1]]), np.asarray(rec.boxes)).max()))
    assert len(ious) >= 8 and np.mean([v >= 0.5 for v in ious]) >= 0.7


def test_recorded_subset_reproduces(package, shared_data: Path) -> None:
    """The card's fixed brain-tumor-mri subset (``subset_check.json``) gives the recorded answers."""
    from ai.datasets import read_brain_tumor

    folder = shared_data / "labelled" / "brain-tumor-mri"
    if not folder.is_dir():
        pytest.skip(f"labelled set not found at {folder}")
    by_id = {r.id: r for r in read_brain_tumor(folder)}
    for case in json.loads((MODEL_DIR / "subset_check.json").read_text())["cases"]:
        result = _analyse(package, by_id[case["id"]].path)
        top = result.findings[0] if result.findings else None
        assert (top.label if top else "no tumour") == case["predicted"], case["id"]
        assert 1 - result.probabilities["no tumour"] == pytest.approx(case["presence"], abs=2e-3)
