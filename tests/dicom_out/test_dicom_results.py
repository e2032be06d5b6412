"""AI results as DICOM on the real LIDC-0314 series: SR (TID 1500), SEG from a radiologist's real
nodule contours, Parametric Map; validated by dciodvfy and read back by RadSight."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from conftest import Lidc, dciodvfy_errors, masked_finding

from ai.findings import Finding
from viewer.cli import main
from viewer.dicom_out.results import DicomResults, write_dicom_results
from viewer.dicom_out.seg_export import build_seg
from viewer.dicom_out.seg_reader import read_seg_masks, with_masks
from viewer.dicom_out.sr_reader import read_sr


@pytest.fixture(scope="module")
def heat(lidc: Lidc) -> np.ndarray:
    """An explanation-like map: a Gaussian around the nodule's centre."""
    centre = np.argwhere(lidc.mask).mean(axis=0)
    grids = np.ogrid[tuple(slice(0, n) for n in lidc.volume.shape)]
    distance2 = sum((g - c) ** 2 for g, c in zip(grids, centre, strict=True))
    return np.exp(-distance2 / (2 * 8.0 ** 2)).astype(np.float32)


@pytest.fixture(scope="module")
def second_mask(lidc: Lidc) -> np.ndarray:
    """A second (made-up) masked region elsewhere in the scan: a 6 x 20 x 18 voxel block."""
    mask = np.zeros(lidc.volume.shape, bool)
    mask[40:46, 300:320, 100:118] = True
    return mask


@pytest.fixture(scope="module")
def findings(lidc: Lidc, second_mask: np.ndarray) -> list[Finding]:
    nodule = masked_finding(lidc.volume, lidc.mask)
    block = masked_finding(lidc.volume, second_mask, score=0.61, id="block0000001")
    below = masked_finding(lidc.volume, lidc.mask, mask=None, score=0.2, passes_operating_point=False,
                           id="below0000001")
    return [nodule, block, below]


@pytest.fixture(scope="module")
def written(lidc: Lidc, findings: list[Finding], heat: np.ndarray,
            tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DicomResults]:
    out = tmp_path_factory.mktemp("dicom-results")
    return out, write_dicom_results(out, findings, {findings[0].id: heat}, lidc.source)


def test_writes_sr_seg_and_map_of_the_findings_that_pass(written: tuple[Path, DicomResults]) -> None:
    out, results = written
    assert results.written == ["sr.dcm", "seg.dcm", "map01_nodule.dcm"]
    assert "1 unmarked finding(s) are in findings.json only" in results.notes
    assert any("FrameOfReferenceUIDs" in note for note in results.notes)  # LIDC-0314: one per slice


@pytest.mark.parametrize("name", ["sr.dcm", "seg.dcm", "map01_nodule.dcm"])
def test_dciodvfy_reports_no_error(written: tuple[Path, DicomResults], name: str) -> None:
    assert dciodvfy_errors(written[0] / name) == []


def test_sr_reads_back_as_the_findings(written: tuple[Path, DicomResults], lidc: Lidc,
                                       findings: list[Finding]) -> None:
    result = read_sr(written[0] / "sr.dcm", lidc.volume)
    assert result.series_instance_uid == lidc.volume.series_instance_uid
    back = {f.id: f for f in result.findings}
    assert set(back) == {findings[0].id, findings[1].id}
    for original in findings[:2]:
        read = back[original.id]
        assert (read.model, read.model_version, read.label) == ("nodule-ct", "1.2.0", "nodule")
        assert read.score == pytest.approx(original.score) and read.threshold == pytest.approx(0.5)
        assert read.passes_operating_point and read.explanation_method == "grad-cam"
        assert read.size_mm == pytest.approx(original.size_mm)
        assert read.center_mm == pytest.approx(original.center_mm, abs=1e-3)
        assert read.box_kji == pytest.approx(original.box_kji, abs=1e-3)
        assert read.center_kji == pytest.approx(original.center_kji, abs=1e-3)


def test_sr_content_says_not_for_diagnostic_use_and_references_the_series(
        written: tuple[Path, DicomResults], lidc: Lidc, findings: list[Finding]) -> None:
    ds = pydicom.dcmread(written[0] / "sr.dcm")
    assert ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.88.34"  # Comprehensive 3D SR
    assert ds.ContentTemplateSequence[0].TemplateIdentifier == "1500"
    texts = _texts(ds)
    assert "RadSight AI (not for diagnostic use)" in texts  # device observer name
    assert "not for diagnostic use" in texts  # algorithm parameter
    [study] = ds.CurrentRequestedProcedureEvidenceSequence
    [series] = study.ReferencedSeriesSequence
    assert series.SeriesInstanceUID == lidc.volume.series_instance_uid
    assert {str(i.ReferencedSOPInstanceUID) for i in series.ReferencedSOPSequence} == set(
        lidc.volume.sop_instance_uids)
    k = int(round(findings[0].center_kji[0]))
    region_refs = {str(item.ReferencedFrameOfReferenceUID) for item in _items(ds) if
                   getattr(item, "ValueType", "") == "SCOORD3D"}
    assert lidc.source.dataset_at(k).FrameOfReferenceUID in region_refs


def test_seg_reads_back_as_the_radiologist_mask(written: tuple[Path, DicomResults], lidc: Lidc,
                                                 findings: list[Finding], second_mask: np.ndarray) -> None:
    masks = read_seg_masks(written[0] / "seg.dcm", lidc.volume)
    assert set(masks) == {findings[0].id, findings[1].id}
    assert np.array_equal(masks[findings[0].id], lidc.mask)
    assert np.array_equal(masks[findings[1].id], second_mask)
    attached = with_masks(findings[:2], masks)
    assert all(np.array_equal(a.mask, f.mask) for a, f in zip(attached, findings, strict=False))
    ds = pydicom.dcmread(written[0] / "seg.dcm")
    assert int(ds.NumberOfFrames) == int(np.count_nonzero(lidc.mask.any(axis=(1, 2)))) + 6


def test_map_holds_the_box_slices_with_their_values(written: tuple[Path, DicomResults], lidc: Lidc,
                                                    findings: list[Finding], heat: np.ndarray) -> None:
    ds = pydicom.dcmread(written[0] / "map01_nodule.dcm")
    mapping = ds.SharedFunctionalGroupsSequence[0].RealWorldValueMappingSequence[0]
    values = ds.pixel_array * float(mapping.RealWorldValueSlope) + float(mapping.RealWorldValueIntercept)
    slice_of = {uid: k for k, uid in enumerate(lidc.volume.sop_instance_uids)}
    ks = [slice_of[str(g.DerivationImageSequence[0].SourceImageSequence[0].ReferencedSOPInstanceUID)]
          for g in ds.PerFrameFunctionalGroupsSequence]
    k0, k1 = int(findings[0].box_kji[0]), int(findings[0].box_kji[3])
    assert sorted(ks) == list(range(k0, k1))
    assert np.abs(values - heat[ks]).max() <= 1.0 / 65535


def _items(ds: pydicom.Dataset):
    for item in getattr(ds, "ContentSequence", []):
        yield item
        yield from _items(item)


def _texts(ds: pydicom.Dataset) -> set[str]:
    return {str(item.TextValue) for item in _items(ds) if getattr(item, "ValueType", "") == "TEXT"}


def test_info_lists_the_findings_of_radsight_srs(written: tuple[Path, DicomResults], lidc: Lidc,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", str(written[0])]) == 0
    out = capsys.readouterr().out
    assert (f"AI results in sr.dcm (not for diagnostic use): series {lidc.volume.series_instance_uid}, "
            "2 finding(s)") in out
    assert "  nodule score 0.870 (nodule-ct 1.2.0) at (" in out and "  nodule score 0.610 (" in out


def test_seg_leaves_out_a_mask_overlapping_a_better_one(lidc: Lidc, findings: list[Finding],
                                                        tmp_path: Path) -> None:
    overlapping = masked_finding(lidc.volume, lidc.mask, score=0.5, id="overlap00001")
    notes: list[str] = []
    build_seg([overlapping, findings[0]], lidc.source, notes=notes).save_as(tmp_path / "seg.dcm")
    assert notes == ["seg.dcm leaves out 1 mask(s) that overlap a better-scoring finding's"]
    masks = read_seg_masks(tmp_path / "seg.dcm", lidc.volume)
    assert set(masks) == {findings[0].id} and np.array_equal(masks[findings[0].id], lidc.mask)
