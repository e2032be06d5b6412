"""RadSight against a real Orthanc: C-ECHO, C-FIND, C-GET, C-MOVE into the study db, and
`radsight send` (C-STORE) of compressed files that Orthanc stores as sent."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pydicom
import pytest
from peers import ORTHANC_AET, RADSIGHT_AET, Orthanc

from viewer.core.audit_log import AuditLog
from viewer.core.dicom_node import DicomNode, NodeConfig
from viewer.core.dicom_peers import AllowedPeer, RemoteNode
from viewer.core.dicom_scu import NodeError, echo, find_studies, get_study, move_study
from viewer.core.study_db import StudyDB


def pacs(orthanc: Orthanc) -> RemoteNode:
    return RemoteNode(ORTHANC_AET, "127.0.0.1", orthanc.dicom_port)


def test_echo_and_find_the_study_by_patient_and_modality(orthanc: Orthanc, brain_mr_in_orthanc: str,
                                                          tmp_path: Path) -> None:
    echo(pacs(orthanc))
    audit = AuditLog(tmp_path / "audit.jsonl")
    [study] = find_studies(pacs(orthanc), modality="MR", audit=audit)
    assert study.study_instance_uid == brain_mr_in_orthanc and study.n_instances == 20
    again = find_studies(pacs(orthanc), patient_id=study.patient_id or "*", study_date=study.study_date)
    assert [s.study_instance_uid for s in again] == [brain_mr_in_orthanc]
    assert find_studies(pacs(orthanc), modality="CR") == []
    assert [(e.action, e.detail["matches"]) for e in audit.entries()] == [("query", 1)]


def test_c_get_files_the_study_into_the_database(orthanc: Orthanc, brain_mr_in_orthanc: str,
                                                  tmp_path: Path) -> None:
    with StudyDB(tmp_path / "db") as db:
        report = get_study(pacs(orthanc), brain_mr_in_orthanc, db, audit=AuditLog(tmp_path / "a.jsonl"))
        assert (report.completed, report.failed) == (20, 0)
        [study] = db.studies()
        assert study.study_instance_uid == brain_mr_in_orthanc
        assert (study.n_instances, study.modalities) == (20, ("MR",))
        assert db.problems() == []
        assert {pydicom.dcmread(i.path).SOPInstanceUID for i in db.instances()} == orthanc_sops(orthanc)


def test_c_move_delivers_the_study_to_the_running_node(orthanc: Orthanc, brain_mr_in_orthanc: str,
                                                        radsight_node_port: int, tmp_path: Path) -> None:
    config = NodeConfig(RADSIGHT_AET, radsight_node_port, "127.0.0.1",
                        [AllowedPeer(ORTHANC_AET, "127.0.0.1")])
    with StudyDB(tmp_path / "db") as db:
        node = DicomNode(config, db, AuditLog(tmp_path / "audit.jsonl"))
        node.start()
        try:
            report = move_study(pacs(orthanc), brain_mr_in_orthanc, RADSIGHT_AET)
        finally:
            node.stop()
        assert (report.completed, report.failed) == (20, 0)
        assert db.counts()["instances"] == 20 and db.problems() == []
        assert {i.sop_instance_uid for i in db.instances()} == orthanc_sops(orthanc)
    [received] = AuditLog(tmp_path / "audit.jsonl").entries()
    assert (received.action, received.actor) == ("receive", "ORTHANC@127.0.0.1")
    assert received.detail["instances"] == 20


def test_a_move_to_an_unknown_destination_fails_with_a_reason(orthanc: Orthanc,
                                                              brain_mr_in_orthanc: str) -> None:
    with pytest.raises(NodeError, match="C-MOVE"):
        move_study(pacs(orthanc), brain_mr_in_orthanc, "NOBODY")


def orthanc_sops(orthanc: Orthanc) -> set[str]:
    """What Orthanc holds of the brain MR (the send test adds other studies later)."""
    query = b'{"Level": "Instance", "Query": {"Modality": "MR"}, "Expand": true}'
    found = orthanc.rest("/tools/find", "POST", query)
    return {item["MainDicomTags"]["SOPInstanceUID"] for item in found}


def test_radsight_send_stores_compressed_files_in_orthanc_as_sent(orthanc: Orthanc, dicom_data: Path,
                                                                   tmp_path: Path) -> None:
    series = dicom_data / "lidc-idri-0001" / "series"
    if not series.is_dir():
        pytest.skip(f"LIDC-0001 (JPEG-LS) not found at {series}")
    files = sorted(series.glob("*.dcm"))[:6]
    before = orthanc.instance_uids()
    done = subprocess.run([sys.executable, "-m", "viewer", "send", *map(str, files), str(tmp_path / "empty"),
                           "--to", orthanc.node], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2 and "does not exist" in done.stderr  # a missing path: nothing sent
    done = subprocess.run([sys.executable, "-m", "viewer", "send", *map(str, files), "--to", orthanc.node],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "sent 6 instances" in done.stdout
    sops = {str(pydicom.dcmread(f, stop_before_pixels=True).SOPInstanceUID) for f in files}
    assert orthanc.instance_uids() - before == sops
    for item in orthanc.rest("/tools/find", "POST", b'{"Level": "Instance", "Query": {}, "Expand": true}'):
        if item["MainDicomTags"]["SOPInstanceUID"] in sops:
            syntax = orthanc.rest(f"/instances/{item['ID']}/metadata/TransferSyntax", text=True)
            assert syntax == "1.2.840.10008.1.2.4.80"  # JPEG-LS lossless, as sent


def test_send_to_a_node_that_is_not_there_says_so(tmp_path: Path, lidc_dir: Path) -> None:
    from peers import free_port

    done = subprocess.run([sys.executable, "-m", "viewer", "send", str(next(lidc_dir.glob("*.dcm"))),
                           "--to", f"NOBODY@127.0.0.1:{free_port()}"], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 2 and "could not be reached" in done.stderr and "Traceback" not in done.stderr


def highdicom_seg(slices: list[Path], out: Path) -> Path:
    """A real DICOM SEG (highdicom) of a small box on a CT slice."""
    import highdicom as hd
    import numpy as np
    from pydicom.sr.codedict import codes

    sources = sorted((pydicom.dcmread(p) for p in slices), key=lambda ds: float(ds.ImagePositionPatient[2]))
    mask = np.zeros((len(sources), sources[0].Rows, sources[0].Columns), dtype=bool)
    mask[:, 200:220, 200:220] = True
    segment = hd.seg.SegmentDescription(
        segment_number=1, segment_label="test box", segmented_property_category=codes.SCT.Tissue,
        segmented_property_type=codes.SCT.Tissue, algorithm_type=hd.seg.SegmentAlgorithmTypeValues.MANUAL)
    seg = hd.seg.Segmentation(
        source_images=sources, pixel_array=mask, segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=[segment], series_instance_uid=hd.UID(), series_number=99,
        sop_instance_uid=hd.UID(), instance_number=1, manufacturer="RadSight tests",
        manufacturer_model_name="test", software_versions="0", device_serial_number="0")
    path = out / "seg.dcm"
    seg.save_as(path)
    return path


def test_radsight_send_stores_an_sr_and_a_seg_in_orthanc(orthanc: Orthanc, lidc_dir: Path,
                                                          tmp_path: Path) -> None:
    from pydicom.data import get_testdata_file

    folder = tmp_path / "results"
    folder.mkdir()
    seg = highdicom_seg(sorted(lidc_dir.glob("*.dcm"))[:1], folder)
    sr = folder / "sr.dcm"
    sr.write_bytes(Path(get_testdata_file("test-SR.dcm")).read_bytes())
    done = subprocess.run([sys.executable, "-m", "viewer", "send", str(folder), "--to", orthanc.node],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "sent 2 instances" in done.stdout
    stored = orthanc.rest("/tools/find", "POST", b'{"Level": "Instance", "Query": {}, "Expand": true}')
    classes = {item["MainDicomTags"]["SOPInstanceUID"]: orthanc.rest(
        f"/instances/{item['ID']}/metadata/SopClassUid", text=True) for item in stored}
    for path in (seg, sr):
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        assert classes.get(str(ds.SOPInstanceUID)) == str(ds.SOPClassUID)
