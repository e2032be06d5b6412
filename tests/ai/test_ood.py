"""The out-of-distribution guard: its statistic (torch export form = numpy form), its verdict, and the
shipped models refusing real cross-fed images read by the product's reader."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from shipped import MODELS, verified_package

from ai.analysis import run_pipeline
from ai.ood import load_guard, verdict
from viewer.analysis import read_image_input


def test_mahalanobis_head_matches_numpy_distances() -> None:
    torch = pytest.importorskip("torch")
    from ai.training import ood_fit

    rng = np.random.default_rng(0)
    train = rng.normal(size=(300, 4, 3, 3)).astype(np.float32)
    mean, whiten = ood_fit.fit(ood_fit.pooled_numpy(train))
    probe = np.concatenate([train[:2], train[:2] * 5 + 3])
    expected = ood_fit.distances(ood_fit.pooled_numpy(probe), mean, whiten)
    got = ood_fit.MahalanobisHead(mean, whiten)(torch.from_numpy(probe)).detach().numpy()
    assert got == pytest.approx(expected, rel=1e-4)
    assert expected[2:].min() > 3 * expected[:2].max()  # shifted, scaled maps are far from the training set


def test_verdict_refuses_beyond_the_threshold(tmp_path: Path) -> None:
    (tmp_path / "ood.json").write_text(json.dumps({"threshold": 10.0, "expects": "a brain MRI slice"}))
    guard = load_guard(tmp_path)
    near = verdict(guard, {"ood_distance": np.array([9.5, 10.5], np.float32)}, 0)
    far = verdict(guard, {"ood_distance": np.array([9.5, 10.5], np.float32)}, 1)
    assert not near.refused and near.message == ""
    assert far.refused and far.message.startswith("not scored: does not look like a brain MRI slice")
    assert load_guard(tmp_path / "none") is None and verdict(None, {}) is None


def _ct_slice_png(lidc_dir: Path, path: Path) -> Path:
    """A real chest-CT slice saved as an 8-bit PNG (mediastinal window), as a user might export one."""
    import pydicom

    ds = pydicom.dcmread(sorted(lidc_dir.glob("*.dcm"))[137])
    hu = ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    Image.fromarray(np.clip((hu + 160) / 400 * 255, 0, 255).astype(np.uint8)).save(path)
    return path


def _refused(package, path: Path, modality: str) -> tuple[bool, list[str]]:
    result = run_pipeline(package, read_image_input(path, modality))
    return (not result.findings and any(n.startswith("not scored") for n in result.notes)), result.notes


@pytest.fixture(scope="module")
def labelled(shared_data: Path) -> Path:
    return shared_data / "labelled"


def test_tumour_model_refuses_radiographs_and_ct(labelled: Path, lidc_dir: Path, tmp_path: Path) -> None:
    package = verified_package("tumour-mri")
    radiograph = labelled / "fracatlas" / "images" / "Fractured" / "IMG0000019.jpg"
    ct = _ct_slice_png(lidc_dir, tmp_path / "ct.png")
    for path in (radiograph, ct):
        refused, notes = _refused(package, path, "MR")
        assert refused, (path.name, notes)
        assert "does not look like a brain MRI slice" in notes[0]


def test_fracture_model_refuses_brain_mri_and_ct(labelled: Path, lidc_dir: Path, tmp_path: Path) -> None:
    package = verified_package("fracture-radiograph")
    mri = labelled / "brain-tumor-mri" / "glioma" / "1841.jpg"
    br35h = sorted((labelled / "br35h" / "no").glob("*.jpg"))[0]
    ct = _ct_slice_png(lidc_dir, tmp_path / "ct.png")
    for path in (mri, br35h, ct):
        refused, notes = _refused(package, path, "DX")
        assert refused, (path.name, notes)
        assert "does not look like a musculoskeletal radiograph" in notes[0]


def test_in_distribution_images_are_scored(labelled: Path) -> None:
    tumour, fracture = verified_package("tumour-mri"), verified_package("fracture-radiograph")
    assert not _refused(tumour, labelled / "brain-tumor-mri" / "glioma" / "1841.jpg", "MR")[0]
    assert not _refused(fracture, labelled / "fracatlas" / "images" / "Fractured" / "IMG0000019.jpg", "DX")[0]
    assert (MODELS / "tumour-mri" / "ood.json").is_file() and (
        MODELS / "fracture-radiograph" / "ood.json"
    ).is_file()


def test_gap_threshold_sits_between_the_two_kinds_or_falls_back() -> None:
    from ai.training.ood_calibrate import gap_threshold

    inside = np.linspace(10.0, 16.0, 200)
    outside = np.linspace(25.0, 40.0, 200)
    threshold, how = gap_threshold(inside, outside)
    assert 16.0 < threshold < 25.0 and threshold == pytest.approx(np.sqrt(16.0 * 25.0), rel=0.01)
    assert how.startswith("geometric middle of the gap")
    overlapping, how = gap_threshold(inside, np.linspace(12.0, 30.0, 200))  # no gap: the 99 % rule
    assert overlapping == pytest.approx(np.quantile(inside, 0.99)) and "no gap" in how


def test_tumour_threshold_lies_between_validation_mri_and_radiographs(labelled: Path) -> None:
    """Distances through the product pipeline's input path: at most 5 % of the validation Br35H slices
    (with and without tumour, the source 4.0.0's guard refused too often: 5 of 104 lie above its
    threshold 20.61, 2 above 4.1.0's) are above the shipped threshold; every FracAtlas validation
    radiograph tried is."""
    from ai.datasets import read_br35h, read_fracatlas, read_split_csv
    from ai.training.ood_calibrate import distances

    package = verified_package("tumour-mri")
    threshold = load_guard(package.directory).threshold

    def validation(records: list, split_file: Path) -> list:
        split = read_split_csv(split_file)
        return [r.load().array for r in records if split.get(r.id) == "val"]

    br35h = validation(read_br35h(labelled / "br35h"), MODELS / "tumour-mri" / "split_br35h.csv")
    frac = validation(read_fracatlas(labelled / "fracatlas"), MODELS / "fracture-radiograph" / "split.csv")
    mri, radiographs = distances(package, br35h), distances(package, frac[::12])
    assert len(mri) >= 100 and len(radiographs) >= 20
    assert (mri > threshold).mean() <= 0.05, np.sort(mri)[-8:]
    assert (radiographs > threshold).all(), (radiographs.min(), threshold)
