"""`radsight export --anonymise` on LIDC-0314: every element of every written file is listed
(file meta, private tags, nested sequences) and none carries the source's identifiers."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pydicom
import pytest
from conftest import Lidc, masked_finding
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset

from viewer.cli import main
from viewer.core.series_loader import load_series
from viewer.dicom_out.sr_export import build_sr

INJECTED = {"PatientName": "Doe^Jane", "PatientBirthDate": "19510304", "OtherPatientIDs": "MRN-77231",
            "InstitutionName": "St Example Hospital", "ReferringPhysicianName": "House^Gregory"}


def elements(ds: Dataset) -> Iterator[DataElement]:
    """Every element, the file meta and the items of every sequence at any depth included."""
    meta = getattr(ds, "file_meta", None)
    if meta is not None:
        yield from meta
    yield from _walk(ds)


def _walk(ds: Dataset) -> Iterator[DataElement]:
    for element in ds:
        yield element
        if element.VR == "SQ":
            for item in element.value:
                yield from _walk(item)


def _values(element: DataElement) -> list[str]:
    if element.VR in ("SQ", "OB", "OW", "OF", "OD", "OL", "UN") or element.value is None:
        return []
    value = element.value
    return [str(v) for v in value] if isinstance(value, (list, pydicom.multival.MultiValue)) else [str(value)]


def _source_identifiers(files: list[Path]) -> tuple[set[str], set[str]]:
    """(instance UIDs, patient identifiers) found anywhere in the source files."""
    uids, patient = set(), set()
    for path in files:
        for element in elements(pydicom.dcmread(path, stop_before_pixels=True)):
            if element.VR == "UI" and not element.keyword.endswith("ClassUID") \
                    and element.keyword != "TransferSyntaxUID":
                uids.update(v for v in _values(element) if v)
            if element.keyword in ("PatientID", "PatientName", "PatientBirthDate", "OtherPatientIDs"):
                patient.update(v for v in _values(element) if v)
    return uids, patient


@pytest.fixture(scope="module")
def exported(lidc: Lidc, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """LIDC-0314 plus an SR of the readers' nodule exported once; the audit log sits in
    ``<tmp>/data/audit.jsonl``."""
    root = tmp_path_factory.mktemp("export")
    source = root / "source"
    source.mkdir()
    for path in lidc.files:
        (source / path.name).symlink_to(path)
    build_sr([masked_finding(lidc.volume, lidc.mask)], lidc.source).save_as(source / "sr.dcm")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RADSIGHT_DATA_DIR", str(root / "data"))
        assert main(["export", str(source), "--anonymise", "--out", str(root / "anon")]) == 0
    return root / "anon"


def test_the_export_is_audited_without_patient_data(exported: Path, lidc: Lidc) -> None:
    log = exported.parent / "data" / "audit.jsonl"
    [entry] = [json.loads(line) for line in log.read_text().splitlines()]
    assert entry["action"] == "export" and entry["n_uids"] == 1
    assert entry["detail"] == {"instances": 276, "skipped": 0, "anonymised": 1, "dates": "shift",
                               "burned_in_flagged": 0}
    source = pydicom.dcmread(lidc.files[0], stop_before_pixels=True)
    assert source.StudyInstanceUID not in log.read_text() and source.PatientID not in log.read_text()


def test_no_source_identifier_uid_or_private_tag_survives(exported: Path, lidc: Lidc) -> None:
    source_uids, patient = _source_identifiers([*lidc.files, exported.parent / "source" / "sr.dcm"])
    assert "LIDC-IDRI-0314" in patient and len(source_uids) >= 2 * 275 + 2
    written = sorted(exported.glob("*.dcm"))
    assert len(written) == 276
    for path in written:
        ds = pydicom.dcmread(path)
        for element in elements(ds):
            assert not element.tag.is_private, f"{path.name}: private {element.tag}"
            for value in _values(element):
                assert value not in source_uids, f"{path.name}: original UID in {element.keyword}"
                assert not any(p in value for p in patient), f"{path.name}: {element.keyword}"
        assert ds.PatientIdentityRemoved == "YES" and ds.PatientBirthDate == ""
        assert [c.CodeValue for c in ds.DeidentificationMethodCodeSequence] == ["113100", "113107"]


def test_uids_are_remapped_consistently_and_geometry_is_unchanged(exported: Path, lidc: Lidc) -> None:
    every = [pydicom.dcmread(p, stop_before_pixels=True) for p in sorted(exported.glob("*.dcm"))]
    [sr] = [h for h in every if h.Modality == "SR"]
    headers = [h for h in every if h.Modality == "CT"]
    assert len({h.StudyInstanceUID for h in headers}) == 1
    assert len({h.SeriesInstanceUID for h in headers}) == 1
    assert len({h.SOPInstanceUID for h in headers}) == 275
    assert all(h.file_meta.MediaStorageSOPInstanceUID == h.SOPInstanceUID for h in headers)
    [study] = sr.CurrentRequestedProcedureEvidenceSequence  # the SR still points at the images
    assert study.StudyInstanceUID == headers[0].StudyInstanceUID == sr.StudyInstanceUID
    referenced = study.ReferencedSeriesSequence[0].ReferencedSOPSequence
    assert {str(i.ReferencedSOPInstanceUID) for i in referenced} == {str(h.SOPInstanceUID) for h in headers}
    volume = load_series(exported).volume
    assert np.array_equal(volume.voxels, lidc.volume.voxels)
    assert volume.origin == lidc.volume.origin and volume.spacing == lidc.volume.spacing
    assert np.allclose(volume.direction, lidc.volume.direction)
    source_date = pydicom.dcmread(lidc.files[0], stop_before_pixels=True).StudyDate
    assert headers[0].StudyDate and headers[0].StudyDate != source_date  # shifted, not removed


def test_nested_identifiers_private_tags_and_dates_option(lidc: Lidc, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    """Identifiers planted at the top level and inside nested sequences are gone; references
    between the files follow the remapped UIDs; --dates remove empties every date and time."""
    source = tmp_path / "source"
    source.mkdir()
    first, second = (pydicom.dcmread(p) for p in lidc.files[:2])
    _plant(first, referenced=second)
    first.save_as(source / "a.dcm")
    second.save_as(source / "b.dcm")
    out = tmp_path / "out"
    assert main(["export", str(source), "--anonymise", "--dates", "remove", "--out", str(out)]) == 0
    assert "wrote 2 anonymised file(s)" in capsys.readouterr().out
    a, b = (pydicom.dcmread(p) for p in sorted(out.glob("*.dcm")))
    if "ReferencedImageSequence" not in a:
        a, b = b, a
    for ds in (a, b):
        for element in elements(ds):
            assert not element.tag.is_private
            assert not any(v in str(element.value) for v in INJECTED.values() if element.VR != "SQ")
            if element.VR in ("DA", "DT", "TM"):
                assert element.value in ("", None), element.keyword
    assert a.ReferencedImageSequence[0].ReferencedSOPInstanceUID == b.SOPInstanceUID
    assert a.ReferencedImageSequence[0].ReferencedSOPInstanceUID != second.SOPInstanceUID
    assert [c.CodeValue for c in a.DeidentificationMethodCodeSequence] == ["113100"]


def _plant(ds: Dataset, referenced: Dataset) -> None:
    for keyword, value in INJECTED.items():
        setattr(ds, keyword, value)
    block = ds.private_block(0x0029, "EXAMPLE PRIVATE", create=True)
    block.add_new(0x01, "LO", "private patient note")
    item = Dataset()
    item.ReferencedSOPClassUID = referenced.SOPClassUID
    item.ReferencedSOPInstanceUID = referenced.SOPInstanceUID
    nested = Dataset()
    nested.PatientName = INJECTED["PatientName"]
    nested.PatientBirthDate = INJECTED["PatientBirthDate"]
    nested.private_block(0x0031, "NESTED PRIVATE", create=True).add_new(0x02, "LO", "nested secret")
    item.SourceImageSequence = [nested]
    ds.ReferencedImageSequence = [item]


def test_radiograph_without_burned_in_statement_is_flagged(dicom_data: Path, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    radiograph = dicom_data / "pylibjpeg-corpus" / "JPEGLS" / "RG2_JLSN.dcm"
    if not radiograph.exists():
        pytest.skip(f"{radiograph} not found")
    assert "BurnedInAnnotation" not in pydicom.dcmread(radiograph, stop_before_pixels=True)
    source = tmp_path / "in"
    source.mkdir()
    shutil.copy(radiograph, source / "cr.dcm")
    assert main(["export", str(source), "--anonymise", "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "WARNING: 1 file(s) may show burned-in patient data" in out and "00001.dcm" in out


def test_bad_input_is_one_line_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", str(tmp_path / "missing"), "--anonymise", "--out", str(tmp_path / "o")]) == 2
    assert main(["export", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"radsight export: {tmp_path / 'missing'} does not exist",
                   "radsight export: only anonymised export exists: add --anonymise"]
    assert not (tmp_path / "o").exists()
