"""storescu (dcmtk) → `radsight node`: every instance filed, rows matching files, peers checked."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pydicom
import pytest
from node_process import NodeProcess
from peers import free_port, need, storescu
from pynetdicom import AE
from pynetdicom.sop_class import Verification

from viewer.core.audit_log import AuditLog
from viewer.core.study_db import StudyDB


def source_uids(folder: Path) -> dict[str, Path]:
    headers = {p: pydicom.dcmread(p, stop_before_pixels=True, specific_tags=["SOPInstanceUID"])
               for p in sorted(folder.glob("*.dcm"))}
    return {str(ds.SOPInstanceUID): p for p, ds in headers.items()}


@pytest.fixture(scope="module")
def received_lidc(lidc_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    """LIDC-0314 sent once by storescu to a `radsight node` process: (db folder, storescu stderr,
    what the node printed when stopped)."""
    need("storescu")
    db = tmp_path_factory.mktemp("node") / "db"
    node = NodeProcess(db, free_port(), ["STORESCU@127.0.0.1"])
    try:
        sent = storescu(node.port, [lidc_dir])
    finally:
        printed = node.stop()
    assert sent.returncode == 0, sent.stderr[-2000:]
    return db, sent.stderr, printed


def test_all_275_lidc_instances_are_filed_with_rows_matching_files(received_lidc: tuple[Path, str, str],
                                                                   lidc_dir: Path) -> None:
    db_dir, _, printed = received_lidc
    expected = source_uids(lidc_dir)
    assert len(expected) == 275 and "275 received, 0 failed" in printed
    with StudyDB(db_dir) as db:
        assert db.counts() == {"patients": 1, "studies": 1, "series": 1, "instances": 275}
        assert db.problems() == []
        rows = db.instances()
        assert {r.sop_instance_uid for r in rows} == set(expected)
        for row in rows:
            stored = pydicom.dcmread(row.path)
            original = pydicom.dcmread(expected[row.sop_instance_uid])
            assert row.managed and row.path.is_relative_to(db.store_dir)
            assert stored.SOPInstanceUID == row.sop_instance_uid
            assert stored.SeriesInstanceUID == row.series_instance_uid == original.SeriesInstanceUID
            assert stored.file_meta.TransferSyntaxUID == row.transfer_syntax_uid
            assert stored.PixelData == original.PixelData
        [study] = db.studies()
        assert (study.patient_id, study.modalities, study.n_instances) == ("LIDC-IDRI-0314", ("CT",), 275)


def test_the_receive_is_audited_without_patient_data(received_lidc: tuple[Path, str, str]) -> None:
    db_dir = received_lidc[0]
    [entry] = AuditLog(db_dir / "audit.jsonl").entries()
    with StudyDB(db_dir) as db:
        [study] = db.studies()
    assert (entry.action, entry.actor, entry.detail["instances"]) == ("receive", "STORESCU@127.0.0.1", 275)
    text = (db_dir / "audit.jsonl").read_text()
    assert study.study_instance_uid not in text and "LIDC" not in text


def test_db_list_prints_one_line_per_study(received_lidc: tuple[Path, str, str]) -> None:
    done = subprocess.run([sys.executable, "-m", "viewer", "db", "list", "--db", str(received_lidc[0])],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    [line] = done.stdout.splitlines()
    patient, uid, modalities, count = line.split("\t")
    assert (patient, modalities, count) == ("LIDC-IDRI-0314", "CT", "275")
    assert uid.startswith("1.3.6.1.4.1.14519")


def test_unknown_peers_are_refused(tmp_path: Path, dicom_data: Path) -> None:
    need("echoscu")
    port = free_port()
    node = NodeProcess(tmp_path / "db", port, ["STORESCU@127.0.0.1"])
    try:
        unknown_ae, known_ae = echoscu("INTRUDER", port), echoscu("STORESCU", port)
        sent = storescu(port, [dicom_data / "ge-brain-mr-20" / "series"], calling_aet="INTRUDER")
        other_host = _associate_from("127.0.0.2", "STORESCU", port)
    finally:
        printed = node.stop()
    assert unknown_ae.returncode != 0 and "Calling AE Title Not Recognized" in unknown_ae.stderr
    assert known_ae.returncode == 0, known_ae.stderr
    assert sent.returncode != 0
    assert not other_host, "a known AE title calling from an unknown host was accepted"
    assert "0 received" in printed
    with StudyDB(tmp_path / "db") as db:
        assert db.counts()["instances"] == 0


def echoscu(aet: str, port: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["echoscu", "-aet", aet, "-aec", "RADSIGHT", "127.0.0.1", str(port)],
                          capture_output=True, text=True, timeout=60, check=False)


def _associate_from(address: str, aet: str, port: int) -> bool:
    ae = AE(ae_title=aet)
    ae.add_requested_context(Verification)
    ae.acse_timeout = ae.network_timeout = 10
    assoc = ae.associate("127.0.0.1", port, ae_title="RADSIGHT", bind_address=(address, 0))
    accepted = assoc.is_established
    if accepted:
        assoc.release()
    return accepted


def test_a_node_without_allowed_peers_refuses_everyone(tmp_path: Path) -> None:
    from viewer.core.dicom_node import DicomNode, NodeConfig

    need("echoscu")
    with StudyDB(tmp_path / "db") as db:
        node = DicomNode(NodeConfig("RADSIGHT", 0, "127.0.0.1", []), db)
        node.start()
        try:
            refused = echoscu("STORESCU", node.port)
        finally:
            node.stop()
    assert refused.returncode != 0 and node.stats.refused == 1
