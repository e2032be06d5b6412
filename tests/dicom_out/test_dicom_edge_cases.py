"""DICOM results where the source does not map one slice to one instance: a gantry-tilted head CT
(resampled onto a regular grid) keeps its SR in patient space, and SEG/maps are refused in words."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import dciodvfy_errors, masked_finding

from viewer.core.dicom_index import index_path
from viewer.core.series_loader import load_series
from viewer.dicom_out.results import write_dicom_results, write_series_results
from viewer.dicom_out.source import read_source
from viewer.dicom_out.sr_reader import read_sr


def test_tilted_ct_sr_is_in_patient_space_and_seg_map_are_refused(dicom_data: Path, tmp_path: Path) -> None:
    folder = dicom_data / "ge-head-ct-gantry-tilt" / "series"
    if not folder.is_dir():
        pytest.skip(f"{folder} not found")
    record = index_path(folder).series[0]
    volume = load_series(record).volume
    assert volume.resampled and not volume.sop_instance_uids
    mask = np.zeros(volume.shape, bool)
    k, j, i = (n // 2 for n in volume.shape)
    mask[k - 2:k + 3, j - 10:j + 10, i - 12:i + 12] = True
    finding = masked_finding(volume, mask, model="tumour-mri", label="glioma")
    heat = np.zeros(volume.shape, np.float32)
    heat[mask] = 0.8
    results = write_dicom_results(tmp_path, [finding], {finding.id: heat}, read_source(record.files, volume))
    assert results.written == ["sr.dcm"]
    assert ("seg.dcm not written: the series was resampled: its slices do not map one-to-one to instances"
            in results.notes)
    assert any(n.startswith("map01_glioma.dcm not written: the series was resampled") for n in results.notes)
    assert dciodvfy_errors(tmp_path / "sr.dcm") == []
    [read] = read_sr(tmp_path / "sr.dcm", volume).findings
    assert read.center_mm == pytest.approx(finding.center_mm, abs=1e-3)
    assert read.box_kji == pytest.approx(finding.box_kji, abs=1e-3)


def test_plain_image_gets_no_dicom_results_and_says_why(tmp_path: Path) -> None:
    results = write_series_results(tmp_path, "", [], None, [], {})
    assert results.written == [] and results.notes == ["no DICOM results: the series was not loaded"]


def test_enhanced_multiframe_mr_sr_round_trips_and_seg_is_refused(dicom_data: Path, tmp_path: Path) -> None:
    folder = dicom_data / "philips-enhanced-mr" / "series"
    if not folder.is_dir():
        pytest.skip(f"{folder} not found")
    record = index_path(folder).series[0]
    volume = load_series(record).volume
    mask = np.zeros(volume.shape, bool)
    k, j, i = (n // 2 for n in volume.shape)
    mask[k - 1:k + 2, j - 5:j + 5, i - 6:i + 6] = True
    finding = masked_finding(volume, mask, model="tumour-mri", label="meningioma")
    results = write_dicom_results(tmp_path, [finding], {}, read_source(record.files, volume))
    assert results.written == ["sr.dcm"]
    assert "seg.dcm not written: multi-frame source images are not supported for SEG and maps yet" \
        in results.notes
    assert dciodvfy_errors(tmp_path / "sr.dcm") == []
    [read] = read_sr(tmp_path / "sr.dcm", volume).findings
    assert read.center_mm == pytest.approx(finding.center_mm, abs=1e-3)
    assert read.box_kji == pytest.approx(finding.box_kji, abs=1e-3)
