"""The box-size calibration: its arithmetic, and the shipped fracture pipeline applying its package's
scale to the boxes the network draws (real onnxruntime on a FracAtlas radiograph)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from shipped import MODELS, verified_package

from ai.analysis import run_pipeline
from ai.box_size import BOX_SIZE_FILE, load_box_scale, scale_boxes
from ai.package import load_package
from ai.pipelines.fracture import postprocess
from ai.pipelines.static_registry import get_pipeline
from ai.runtime import get_session, run_batched
from viewer.analysis import read_image_input


def test_boxes_grow_about_their_centres(tmp_path: Path) -> None:
    boxes = np.array([[10, 20, 30, 60], [0, 0, 4, 2]], np.float32)
    scaled = scale_boxes(boxes, (1.5, 0.5))
    assert scaled.tolist() == [[5, 30, 35, 50], [-1, 0.5, 5, 1.5]]
    assert scale_boxes(np.zeros((0, 4)), (2.0, 2.0)).shape == (0, 4)
    assert load_box_scale(None) == (1.0, 1.0) and load_box_scale(tmp_path) == (1.0, 1.0)
    (tmp_path / BOX_SIZE_FILE).write_text(json.dumps({"scale": [1.2, 0.9], "calibration": "test"}))
    assert load_box_scale(tmp_path) == (1.2, 0.9)


def test_the_fracture_pipeline_draws_its_boxes_at_the_calibrated_size(shared_data: Path,
                                                                      tmp_path: Path) -> None:
    """The shipped network in a copy of its package whose ``box_size.json`` says 1.3 × 0.8: the pipeline's
    boxes are the network's, scaled about their centres by exactly that."""
    image_path = shared_data / "labelled" / "fracatlas" / "images" / "Fractured" / "IMG0000019.jpg"
    if not image_path.is_file():
        pytest.skip(f"FracAtlas radiograph not found at {image_path}")
    shipped_scale = load_box_scale(MODELS / "fracture-radiograph")
    assert all(0.8 < v < 1.5 for v in shipped_scale), f"implausible shipped box-size fit {shipped_scale}"
    verified_package("fracture-radiograph")
    copy = tmp_path / "fracture-radiograph"
    shutil.copytree(MODELS / "fracture-radiograph", copy)
    scale = (1.3, 0.8)
    (copy / BOX_SIZE_FILE).write_text(json.dumps({"scale": list(scale), "calibration": "test"}))
    package = load_package(copy)
    image = read_image_input(image_path, "DX")
    result = run_pipeline(package, image)
    prepared = get_pipeline(package).prepare(image, package)
    raw = postprocess(run_batched(get_session(package.onnx_path), prepared.inputs).outputs,
                      prepared.context["letterbox"])  # scale 1: what the network drew
    h, w = image.voxels.shape[-2:]
    expected = np.clip(scale_boxes(raw.boxes, scale), 0, [w, h, w, h])
    shipped = np.array([[f.box_kji[2], f.box_kji[1], f.box_kji[5], f.box_kji[4]] for f in result.findings])
    assert len(shipped) == len(raw.boxes) > 0
    assert np.allclose(shipped.reshape(-1, 4), expected, atol=0.5)
    assert not np.allclose(shipped.reshape(-1, 4), np.clip(raw.boxes, 0, [w, h, w, h]), atol=2.0)
