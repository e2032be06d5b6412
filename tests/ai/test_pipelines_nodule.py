"""The nodule pipeline: candidates and measurements on a synthetic chest, the ONNX contract, and the shipped
model through ``radsight analyze`` on the whole LIDC-0314 scan, checked against the readers' annotations.

LIDC-0001 and 0003 are not used for a detection claim here: the shipped model was trained on both (their
held-out numbers come from leave-one-scan-out models, ``ai.training.nodule_eval``, on the model card).
0001 serves only to check the mechanics of ``radsight validate``'s whole-scan mode.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
from shipped import MODELS, cpu_session, verified_package

from ai.datasets.lidc_scans import find_lidc_scans, truth_for
from ai.findings import Finding
from ai.image import ImageInput
from ai.pipelines import nodule_candidates as cands
from ai.pipelines.nodule import to_sitk
from ai.pipelines.nodule_measure import measure
from ai.validation.nodule_scans import geometry_of

MODEL_DIR = MODELS / "nodule-ct"
MAX_FALSE_MARKS = 4


@pytest.fixture(scope="module")
def package():
    return verified_package(MODEL_DIR.name)


def test_onnx_contract(package) -> None:
    session = cpu_session(package)
    outs = session.run(None, {"image": np.zeros((2, 1, 32, 32, 32), np.float32)})
    names = [o.name for o in session.get_outputs()]
    shapes = dict(zip(names, (o.shape for o in outs), strict=True))
    assert shapes == {"logits": (2, 2), "cam": (2, 2, 8, 8, 8)}


def synthetic_chest() -> tuple[np.ndarray, dict[str, tuple[float, float, float]]]:
    """Soft-tissue body, two air lungs, a 10 mm ball inside the left lung, a 12 mm ball on the right
    lung's lateral pleura (half in the chest wall: juxtapleural) and a 36 mm mass. 1 mm voxels (z, y, x)."""
    zz, yy, xx = np.mgrid[:80, :140, :200].astype(np.float32)
    vol = np.full(zz.shape, -1000.0, np.float32)
    body = ((yy - 70) / 65) ** 2 + ((xx - 100) / 95) ** 2 <= 1
    vol[body] = 40.0
    for cx in (52, 148):
        vol[body & (((yy - 70) / 50) ** 2 + ((xx - cx) / 34) ** 2 <= 1)] = -850.0
    balls = {"inner": (40.0, 70.0, 52.0, 5.0), "juxtapleural": (40.0, 70.0, 180.0, 6.0),
             "mass": (40.0, 70.0, 140.0, 18.0)}
    for z, y, x, r in balls.values():
        vol[(zz - z) ** 2 + (yy - y) ** 2 + (xx - x) ** 2 <= r * r] = 30.0
    return vol, {k: (x, y, z) for k, (z, y, x, _) in balls.items()}


def test_candidates_catch_inner_juxtapleural_and_mass_nodules() -> None:
    vol, centres = synthetic_chest()
    found, lungs = cands.find(to_sitk(vol, (1.0, 1.0, 1.0)))
    lung = sitk.GetArrayFromImage(lungs) > 0
    assert lung[20, 35, 26] and not lung[20, 35, 50] and not lung[20, 2, 2]  # lung, mediastinum, outside
    for name, centre in centres.items():
        dist = min(np.linalg.norm(c.centre_mm - np.array(centre)) for c in found)
        assert dist < 4.0, f"{name} nodule: nearest candidate {dist:.1f} mm away"


def test_mask_volume_and_axes_of_a_ball() -> None:
    vol, centres = synthetic_chest()
    x, y, z = centres["inner"]
    m = measure(vol, (1.0, 1.0, 1.0), np.array([z, y, x]), diameter_mm=10.0)
    assert m.volume_mm3 == pytest.approx(4 / 3 * np.pi * 125, rel=0.15)
    assert m.long_axis_mm == pytest.approx(11.0, abs=1.5) and m.short_axis_mm == pytest.approx(11.0, abs=1.5)
    assert m.mask.shape == tuple(np.subtract(m.box_kji[3:], m.box_kji[:3]))


# --- the whole LIDC-0314 scan through `radsight analyze` ------------------------------------------
@pytest.fixture(scope="module")
def analysed_0314(lidc_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("analyze-0314")
    done = subprocess.run([sys.executable, "-m", "viewer", "analyze", str(lidc_dir), "--model", "nodule-ct",
                           "--out", str(out)], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    return {"out": out, "doc": json.loads((out / "findings.json").read_text())}


@pytest.fixture(scope="module")
def truth_0314(lidc_dir: Path):
    scan = find_lidc_scans(lidc_dir.parent)[0]
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(lidc_dir)))
    img = reader.Execute()
    image = ImageInput(np.zeros((1, 1, 1), np.int16), spacing=tuple(reversed(img.GetSpacing())),
                       origin=img.GetOrigin(), direction=np.array(img.GetDirection()).reshape(3, 3),
                       modality="CT")
    return truth_for(scan, geometry_of(image))


def _marks(doc: dict) -> list[Finding]:
    return [Finding.from_dict(f) for f in doc["findings"] if f["passes_operating_point"]]


def test_0314_every_nodule_of_two_readers_marked_with_at_most_4_false_marks(analysed_0314,
                                                                           truth_0314) -> None:
    marks = _marks(analysed_0314["doc"])
    reference = truth_0314.reference(2)
    assert reference, "LIDC-0314 has a nodule of >= 2 readers"
    hit = [[np.linalg.norm(np.subtract(m.center_mm, n.centre_mm)) <= n.radius_mm for n in reference]
           for m in marks]
    assert all(any(h[i] for h in hit) for i in range(len(reference))), "a >= 2-reader nodule is not marked"
    false = sum(1 for h in hit if not any(h))
    assert false <= MAX_FALSE_MARKS, f"{false} false marks"


def test_0314_the_nodule_mark_carries_mask_sizes_and_its_own_map(analysed_0314, truth_0314) -> None:
    nodule = truth_0314.reference(2)[0]
    marks = _marks(analysed_0314["doc"])
    mark = min(marks, key=lambda m: np.linalg.norm(np.subtract(m.center_mm, nodule.centre_mm)))
    assert mark.mask is not None and mark.mask.any()
    sizes = mark.measurements
    assert 500 < sizes["volume_mm3"] < 10000  # readers: ~15-22 mm across
    assert 10 < sizes["long_axis_mm"] < 35 and 5 < sizes["short_axis_mm"] <= sizes["long_axis_mm"]
    assert mark.explanation and (analysed_0314["out"] / mark.explanation).is_file()


def test_0314_no_cap_and_the_rule_is_named(analysed_0314) -> None:
    notes = " ".join(n for s in analysed_0314["doc"]["series"] for m in s["models"] for n in m["notes"])
    assert "no cap" in notes and "not marked" in notes


# --- whole-scan mode of `radsight validate` (mechanics; 0001 is a training scan) ------------------
def test_validate_whole_scan_mode_reports_froc_and_names_its_mode(dicom_data: Path, tmp_path: Path) -> None:
    scan = dicom_data / "lidc-idri-0001"
    if not (scan / "series").is_dir():
        pytest.skip(f"{scan} not found")
    data = tmp_path / "scans"
    data.mkdir()
    (data / scan.name).symlink_to(scan)
    done = subprocess.run([sys.executable, "-m", "viewer", "validate", "--model", "nodule-ct",
                           "--data", str(data), "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "whole-scan mode" in done.stdout
    report = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert report["mode"] == "scan"
    assert report["metrics"]["n_scans"] == 1 and report["metrics"]["n_nodules"] == 1
    for key in ("froc_cpm", "fp_per_scan", "lesion_sensitivity"):
        assert 0 <= report["metrics"][key] <= (100 if key == "fp_per_scan" else 1)
    assert len(report["metrics"]["froc"]) == 7 and "radius" in report["hit_rule"]
    assert (tmp_path / "out" / "froc.png").is_file()
