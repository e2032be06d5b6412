"""The shipped fracture detector through the product's path: real onnxruntime on FracAtlas radiographs
read by the product's reader; boxes checked against the annotations."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from shipped import MODELS, cpu_session, verified_package

from ai.analysis import run_pipeline
from ai.datasets import read_fracatlas, read_split_csv
from ai.validation.metrics import box_iou
from ai.validation.predict import is_not_scored
from viewer.analysis import read_image_input

MODEL_DIR = MODELS / "fracture-radiograph"


@pytest.fixture(scope="module")
def package():
    return verified_package(MODEL_DIR.name)


@pytest.fixture(scope="module")
def test_records(shared_data: Path) -> dict:
    folder = shared_data / "labelled" / "fracatlas"
    if not folder.is_dir():
        pytest.skip(f"labelled set not found at {folder}")
    split = read_split_csv(MODEL_DIR / "split.csv")
    return {r.id: r for r in read_fracatlas(folder) if split[r.id] == "test"}


def test_onnx_contract(package) -> None:
    session = cpu_session(package)
    outs = session.run(None, {"image": np.zeros((2, 1, 320, 320), np.float32)})
    shapes = {o.name: v.shape for o, v in zip(session.get_outputs(), outs, strict=True)}
    assert shapes == {
        "logits": (2, 2),
        "cam": (2, 2, 20, 20),
        "heat": (2, 1, 40, 40),
        "reg": (2, 4, 40, 40),
        "ood_distance": (2,),
    }


def _boxes_xy(findings) -> np.ndarray:
    return np.array([[f.box_kji[2], f.box_kji[1], f.box_kji[5], f.box_kji[4]] for f in findings]).reshape(
        -1, 4
    )


def test_recorded_fracture_boxes_against_annotations(package, test_records) -> None:
    """The card's fixed test subset: each image's probability and passing boxes are reproduced, and a
    fracture the detector found at export time is boxed at IoU ≥ 0.3 with its annotation."""
    cases = json.loads((MODEL_DIR / "subset_check.json").read_text())["cases"]
    found = 0
    for case in cases:
        record = test_records[case["id"]]
        result = run_pipeline(package, read_image_input(record.path, "DX"))
        assert is_not_scored(result) == case["not_scored"], case["id"]  # the OOD guard refuses the same
        probability = result.probabilities.get("fracture", 0.0)  # refused: no probability, recorded as 0
        assert probability == pytest.approx(case["probability"], abs=2e-3), case["id"]
        passing = _boxes_xy([f for f in result.findings if f.passes_operating_point])
        assert np.allclose(passing, np.array(case["passing_boxes"]).reshape(-1, 4), atol=1.0), case["id"]
        if record.boxes and len(passing):
            best = box_iou(passing, np.asarray(record.boxes, float)).max()
            found += best >= 0.3
    assert found >= 1  # at least one annotated fracture of the subset is boxed where it is


def test_fracture_map_and_boxes_on_the_input_grid(package, test_records) -> None:
    record = next(r for r in test_records.values() if r.boxes)
    result = run_pipeline(package, read_image_input(record.path, "DX"))
    h, w = record.load().array.shape
    heat = result.maps["fracture"]
    assert heat.shape == (1, h, w) and 0.0 <= heat.min() and heat.max() <= 1.0
    assert sum(result.probabilities.values()) == pytest.approx(1.0, abs=1e-6)
    for f in result.findings:
        k0, j0, i0, k1, j1, i1 = f.box_kji
        assert 0 <= i0 < i1 <= w and 0 <= j0 < j1 <= h and f.label == "fracture"


def test_a_test_split_fracture_is_boxed_where_annotated(package, test_records, output_dir: Path) -> None:
    """The recorded subset's best hit, run again: a passing box at IoU ≥ 0.3 with the annotated fracture.
    Saved with the annotation (red) and the passing boxes (cyan) drawn on the radiograph."""
    from PIL import Image, ImageDraw

    cases = json.loads((MODEL_DIR / "subset_check.json").read_text())["cases"]
    best = max((c for c in cases if c["best_iou"] is not None), key=lambda c: c["best_iou"])
    record = test_records[best["id"]]
    result = run_pipeline(package, read_image_input(record.path, "DX"))
    passing = _boxes_xy([f for f in result.findings if f.passes_operating_point])
    truth = np.asarray(record.boxes, float).reshape(-1, 4)
    assert len(passing) and box_iou(passing, truth).max() >= 0.3, best["id"]
    picture = Image.fromarray(record.load().array).convert("RGB")
    draw = ImageDraw.Draw(picture)
    for box in truth:
        draw.rectangle(box.tolist(), outline=(255, 0, 0), width=2)
    for box in passing:
        draw.rectangle(box.tolist(), outline=(0, 255, 255), width=1)
    picture.save(output_dir / f"fracture_{package.version}_{best['id']}_boxes.png")
