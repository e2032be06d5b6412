"""`radsight analyze PATH --out DIR --dicom` end to end: a real (tiny, trained-in-test) model on a
DICOM radiograph; the SR locates the finding in image coordinates (SCOORD) on the source image."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pydicom
import pytest
from conftest import dciodvfy_errors
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from ai.registry import ENV_MODELS_DIR
from viewer.cli import main
from viewer.core.series_loader import load_series
from viewer.dicom_out.sr_reader import read_sr

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ai"))
from tiny_models import blob_image, install_blob_package, to_uint8  # noqa: E402


@pytest.fixture
def models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "models"
    install_blob_package(folder)
    monkeypatch.setenv(ENV_MODELS_DIR, str(folder))
    return folder


def blob_radiograph(template: Path, path: Path) -> Path:
    """A real CR file's header (Fuji CR, pylibjpeg corpus) with 64 x 64 blob pixels, uncompressed."""
    ds = pydicom.dcmread(template)
    image = blob_image(np.random.default_rng(12), True, at=(4, 18))[0]
    pixels = to_uint8(np.kron(image, np.ones((2, 2)))).astype(np.uint16)
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.Rows, ds.Columns = pixels.shape
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 8, 7, 0
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.PixelData = pixels.tobytes()
    for keyword in ("WindowCenter", "WindowWidth", "LossyImageCompression"):
        if keyword in ds:
            delattr(ds, keyword)
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


def test_analyze_dicom_writes_an_sr_on_the_radiograph_and_a_map(
        models: Path, dicom_data: Path, tmp_path: Path, private_data_dir: Path) -> None:
    template = dicom_data / "pylibjpeg-corpus" / "JPEGLS" / "RG2_JLSN.dcm"
    if not template.exists():
        pytest.skip(f"{template} not found")
    source = blob_radiograph(template, tmp_path / "in" / "cr.dcm")
    out = tmp_path / "out"
    assert main(["analyze", str(source.parent), "--model", "tiny-blob", "--out", str(out), "--dicom"]) == 0
    [finding] = json.loads((out / "findings.json").read_text())["findings"]
    assert finding["label"] == "blob" and finding["passes_operating_point"]
    assert sorted(p.name for p in out.glob("*.dcm")) == ["map01_blob.dcm", "sr.dcm"]  # no mask: no SEG
    for name in ("sr.dcm", "map01_blob.dcm"):
        assert dciodvfy_errors(out / name) == []
    volume = load_series(source).volume
    [read] = read_sr(out / "sr.dcm", volume).findings
    assert (read.id, read.model, read.model_version) == (finding["id"], "tiny-blob", "0.1.0")
    assert read.score == pytest.approx(finding["score"]) and read.passes_operating_point
    assert read.box_kji == pytest.approx(finding["box_kji"], abs=1e-3)
    sr = pydicom.dcmread(out / "sr.dcm")
    scoord = [i for i in _items(sr) if getattr(i, "ValueType", "") == "SCOORD"]
    assert [str(i.ContentSequence[0].ReferencedSOPSequence[0].ReferencedSOPInstanceUID) for i in scoord] \
        == [str(pydicom.dcmread(source).SOPInstanceUID)]
    entries = [json.loads(line) for line in (private_data_dir / "audit.jsonl").read_text().splitlines()]
    assert [(e["action"], e["detail"]["dicom"], e["detail"]["marked"]) for e in entries] \
        == [("analysis", 1, 1)]


def _items(ds: pydicom.Dataset):
    for item in getattr(ds, "ContentSequence", []):
        yield item
        yield from _items(item)
