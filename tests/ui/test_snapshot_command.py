"""`radsight snapshot`: the same SliceView code path, offscreen, to a PNG checked by pixels."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtGui import QImage

from viewer.cli import main

from .viewer_helpers import to_array

REPO = Path(__file__).resolve().parents[2]


def test_snapshot_axial_lung_at_z(lidc_dir, output_dir) -> None:
    out = output_dir / "snapshot_lidc_axial_lung_z-520.png"
    assert main(["snapshot", str(lidc_dir), "--out", str(out), "--z", "-520", "--preset", "lung",
                 "--size", "600x500"]) == 0
    pixels = to_array(QImage(str(out)))
    assert pixels.shape == (500, 600, 3)
    grey = pixels.mean(axis=-1)
    assert 60 < grey[150:350, 150:450].mean() < 220  # lung window: a grey chest, not black/white
    assert (pixels[:, :, 0] > 200).sum() > 50  # the yellow orientation letters are there


def test_snapshot_rejects_bad_arguments(lidc_dir, tmp_path, capsys) -> None:
    out = tmp_path / "x.png"
    assert main(["snapshot", str(lidc_dir), "--out", str(out), "--slice", "999"]) == 2
    assert "1..275" in capsys.readouterr().out
    assert main(["snapshot", str(lidc_dir), "--out", str(out), "--preset", "nope"]) == 2
    assert "choices" in capsys.readouterr().out
    assert main(["snapshot", str(tmp_path), "--out", str(out)]) == 1
    assert not out.exists()


@pytest.mark.slow
def test_snapshot_cli_without_display_sagittal_and_3d(lidc_dir, output_dir) -> None:
    """A separate process with no X display at all (offscreen Qt, EGL for VTK)."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "QT_QPA_PLATFORM")}
    env["PYTHONPATH"] = str(REPO)
    for view, name in (("sagittal", "snapshot_lidc_sagittal.png"), ("3d", "snapshot_lidc_3d_bone.png")):
        out = output_dir / name
        run = subprocess.run([sys.executable, "-m", "viewer", "snapshot", str(lidc_dir), "--out", str(out),
                              "--view", view, "--size", "320x320"], env=env, cwd=REPO,
                             capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stdout + run.stderr
        pixels = to_array(QImage(str(out)))
        assert pixels.shape == (320, 320, 3) and pixels.std() > 20
        if view == "3d":  # bone preset: warm, light voxels in the middle of a black background
            middle = pixels[100:220, 100:220].astype(int)
            assert (middle[..., 0] > 150).mean() > 0.2 and np.all(pixels[:5, :5] < 10)


def _require_model(name: str) -> None:
    from ai.registry import builtin_models_dir

    if not (builtin_models_dir() / name / "model.json").is_file():
        pytest.skip(f"shipped model {name} not installed yet (resources/models/{name}/model.json)")


def _heat_and_box(plain: np.ndarray, analysed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pixels the analysis made redder than the plain image (outside the dark-red "not for diagnostic use"
    stamp, which only an analysed picture carries), and pixels in the selected-box cyan."""
    from viewer.ui.disclaimer_stamp import STAMP_BACKGROUND

    warm = (analysed[..., 0].astype(int) - analysed[..., 2]) - (plain[..., 0].astype(int) - plain[..., 2])
    stamp = np.all(analysed[..., :3] == STAMP_BACKGROUND.getRgb()[:3], axis=-1)
    if stamp.any():
        rows, cols = np.nonzero(stamp)
        warm[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1] = 0
    cyan = (analysed[..., 0] < 60) & (analysed[..., 1] > 200) & (analysed[..., 2] > 200)
    return warm > 60, cyan


def _mr_snapshots(image: Path, out_dir: Path, name: str, capsys) -> tuple[str, np.ndarray, np.ndarray]:
    """Snapshot a plain MR image as it is and with ``--analyze --modality MR`` (``snapshot_<name>_plain``
    and ``snapshot_<name>_analyze.png``): the analysis text and the heat/box pixels of the second."""
    plain, analysed = out_dir / f"snapshot_{name}_plain.png", out_dir / f"snapshot_{name}_analyze.png"
    assert main(["snapshot", str(image), "--out", str(plain), "--size", "400x400"]) == 0
    assert main(["snapshot", str(image), "--out", str(analysed), "--size", "400x400", "--analyze",
                 "--modality", "MR"]) == 0
    warm, cyan = _heat_and_box(to_array(QImage(str(plain))), to_array(QImage(str(analysed))))
    return capsys.readouterr().out, warm, cyan


def test_snapshot_analyze_brain_mri(shared_data, output_dir, capsys) -> None:
    _require_model("tumour-mri")
    image = shared_data / "labelled" / "brain-tumor-mri" / "glioma" / "1841.jpg"
    if not image.is_file():
        pytest.skip(f"{image} not found")
    out, warm, cyan = _mr_snapshots(image, output_dir, "brain", capsys)
    assert "tumour-mri 5.0.0 on CPU in" in out or "tumour-mri 5.0.0 on CUDA in" in out, out
    assert "not for diagnostic use" in out
    assert warm.sum() > 500 and cyan.sum() > 100  # heat map and the lead finding's box


def test_snapshot_analyze_tumour_free_br35h_slice_shows_no_finding(shared_data, output_dir, capsys) -> None:
    """The first tumour-free Br35H slice of tumour-mri's test split: analysed as MR, no finding, so no box
    and no heat map over the plain picture (screenshot ``snapshot_br35h_no_tumour_analyze.png``)."""
    import csv

    _require_model("tumour-mri")
    split = Path(__file__).resolve().parents[2] / "resources" / "models" / "tumour-mri" / "split_br35h.csv"
    rows = csv.DictReader(split.open())
    first = next(r["id"] for r in rows if r["split"] == "test" and r["label"] == "no tumour")
    image = shared_data / "labelled" / "br35h" / "no" / f"{first}.jpg"
    if not image.is_file():
        pytest.skip(f"{image} not found")
    out, warm, cyan = _mr_snapshots(image, output_dir, "br35h_no_tumour", capsys)
    assert "0 marked" in out and "tumour-mri 5.0.0 on" in out, out
    assert warm.sum() < 50 and cyan.sum() < 20  # neither a heat map nor a finding's box


def test_snapshot_analyze_lidc_centres_the_nodule(lidc_dir, output_dir, tmp_path, capsys) -> None:
    _require_model("nodule-ct")
    out = output_dir / "snapshot_lidc_analyze.png"
    assert main(["snapshot", str(lidc_dir), "--out", str(out), "--preset", "lung", "--size", "500x500",
                 "--analyze"]) == 0
    text = capsys.readouterr().out
    assert "nodule-ct" in text and "tumour-mri not run:" in text, text
    pixels = to_array(QImage(str(out)))
    cyan = (pixels[..., 0] < 60) & (pixels[..., 1] > 200) & (pixels[..., 2] > 200)
    rows, cols = np.nonzero(cyan[:, :460])  # (the colour bar is at the right edge)
    assert len(rows) > 50 and abs(rows.mean() - 250) < 40 and abs(cols.mean() - 250) < 40  # box centred
    # the slice of the highest-scoring finding below the operating point (listed, not marked), with and
    # without --all-findings: its yellow box only with it
    assert main(["analyze", str(lidc_dir), "--model", "nodule-ct", "--out", str(tmp_path)]) == 0
    findings = json.loads((tmp_path / "findings.json").read_text())["findings"]
    below = max((f for f in findings if not f["passes_operating_point"]), key=lambda f: f["score"])
    where = ["--slice", str(round(below["center_kji"][0]) + 1)]  # axial "Im: n/N" is k + 1
    paths = [output_dir / f"snapshot_lidc_below_{name}.png" for name in ("marked_only", "all")]
    for path, extra in zip(paths, ([], ["--all-findings"]), strict=True):
        assert main(["snapshot", str(lidc_dir), "--out", str(path), "--preset", "lung", "--size", "500x500",
                     "--analyze", *where, *extra]) == 0
    yellow = [_below_colour(to_array(QImage(str(path)))).sum() for path in paths]
    assert yellow[1] > yellow[0] + 100  # the unmarked finding's box appears only with --all-findings


def _below_colour(pixels: np.ndarray) -> np.ndarray:
    """Pixels in the colour of boxes below the operating point (255, 210, 0)."""
    return np.abs(pixels.astype(int) - (255, 210, 0)).sum(axis=-1) < 30


def test_snapshot_analyze_refuses_the_3d_view(lidc_dir, tmp_path, capsys) -> None:
    out = tmp_path / "x.png"
    assert main(["snapshot", str(lidc_dir), "--out", str(out), "--view", "3d", "--analyze"]) == 2
    assert "--analyze draws on the 2D views" in capsys.readouterr().out
    assert not out.exists()
