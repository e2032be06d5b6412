"""The shipped nodule model: real onnxruntime on fixed test crops, and the whole LIDC-0314 scan."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
from shipped import MODELS, cpu_session, verified_package

from ai.analysis import run_pipeline
from ai.datasets import read_lidc_vois
from ai.image import ImageInput
from ai.pipelines import nodule as pipe
from ai.training.nodule_data import extract, load_crop

MODEL_DIR = MODELS / "nodule-ct"


@pytest.fixture(scope="module")
def package():
    return verified_package(MODEL_DIR.name)


@pytest.fixture(scope="module")
def session(package):
    return cpu_session(package)


def test_onnx_contract(session) -> None:
    outs = session.run(None, {"image": np.zeros((2, 1, 32, 32, 32), np.float32)})
    names = [o.name for o in session.get_outputs()]
    shapes = dict(zip(names, (o.shape for o in outs), strict=True))
    assert shapes == {"logits": (2, 2), "cam": (2, 2, 8, 8, 8)}


def test_test_crops_reproduce_recorded_scores(session, shared_data: Path) -> None:
    folder = shared_data / "labelled" / "lidc-nodule-vois"
    if not folder.is_dir():
        pytest.skip(f"labelled set not found at {folder}")
    expected = json.loads((MODEL_DIR / "subset_check.json").read_text())["cases"]
    by_id = {r.id: r for r in read_lidc_vois(folder)}
    for case in expected:
        crop = load_crop(by_id[case["id"]])
        raw = extract(crop.hu, np.array(case["centre_zyx_1mm"]))
        spec = pipe.PatchSpec.of(verified_package(MODEL_DIR.name))
        patch = pipe.window(pipe.crop_like(raw, case["diameter_mm"], spec), spec).astype(np.float32)
        probs, cams = pipe.score(session, patch[None])
        assert probs[0] == pytest.approx(case["score"], abs=2e-3), case["id"]
        assert cams.shape == (1, 8, 8, 8)


def test_lung_mask_and_candidates_on_a_synthetic_chest() -> None:
    """A body of soft tissue with two air-filled lungs and one 10 mm ball inside a lung."""
    zz, yy, xx = np.mgrid[:60, :120, :160].astype(np.float32)
    vol = np.full(zz.shape, -1000.0, np.float32)
    body = ((yy - 60) / 55) ** 2 + ((xx - 80) / 75) ** 2 <= 1
    vol[body] = 40.0
    for cx in (42, 118):
        vol[body & (((yy - 60) / 40) ** 2 + ((xx - cx) / 24) ** 2 <= 1)] = -850.0
    ball = (zz - 30) ** 2 + (yy - 60) ** 2 + (xx - 42) ** 2 <= 25
    vol[ball] = 30.0
    img = pipe.to_sitk(vol, (1.0, 1.0, 1.0))
    coarse = pipe.resample(img, pipe.COARSE_MM)
    lungs = sitk.GetArrayFromImage(pipe.lung_mask(coarse)) > 0
    assert lungs[15, 30, 21] and not lungs[15, 30, 40] and not lungs[15, 2, 2]
    cands = pipe.candidates(coarse, pipe.lung_mask(coarse))
    assert any(np.linalg.norm(c.centre_mm - np.array([42.0, 60.0, 30.0])) < 3 for c in cands)


@pytest.mark.slow
def test_whole_scan_lidc_0314_through_the_engine(package, lidc_dir: Path) -> None:
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(lidc_dir)))
    img = reader.Execute()
    spacing = tuple(reversed(img.GetSpacing()))
    direction = np.array(img.GetDirection()).reshape(3, 3)
    image = ImageInput(sitk.GetArrayFromImage(img).astype(np.int16), spacing=spacing, origin=img.GetOrigin(),
                       direction=direction, modality="CT")
    result = run_pipeline(package, image)
    recorded = json.loads((MODEL_DIR / "metrics.json").read_text())["lidc_0314"]
    marked = [f for f in result.findings if f.marked]
    assert len(marked) == len(recorded["findings"])
    top = result.findings[0]
    assert result.maps[top.explanation].shape == image.shape  # its own map, on the CT grid
