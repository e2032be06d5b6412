"""The box-size calibration: its arithmetic, and the shipped fracture pipeline applying its package's
scale to the boxes the network draws (real onnxruntime on a FracAtlas radiograph)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from shipped import MODELS, verified_package

from ai.analysis import run_pipeline
from ai.box_size import BOX_SIZE_FILE, load_box_scale, scale_boxes
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


def test_the_fracture_pipeline_draws_its_boxes_at_the_calibrated_size(shared_data: Path) -> None:
    image_path = shared_data / "labelled" / "fracatlas" / "images" / "Fractured" / "IMG0000019.jpg"
    if not image_path.is_file():
        pytest.skip(f"FracAtlas radiograph not found at {image_path}")
    package = verified_package("fracture-radiograph")
    scale = load_box_scale(MODELS / "fracture-radiograph")
    assert 1.0 < scale[0] < 1.5 and 1.0 < scale[1] < 1.5, "3.1.0 ships the validation fit (~1.14, ~1.20)"
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
