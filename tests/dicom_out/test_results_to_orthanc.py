"""SR + SEG of a LIDC-0314 finding sent with `radsight send` to a real Orthanc (own config,
loopback, free ports; the `Orthanc` helper of tests/net/peers.py), stored there, and read back."""

from __future__ import annotations

import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pydicom
import pytest
from conftest import Lidc, masked_finding

from viewer.dicom_out.results import write_dicom_results
from viewer.dicom_out.sr_reader import read_sr

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "net"))
from peers import Orthanc, need  # noqa: E402


@pytest.fixture(scope="module")
def pacs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Orthanc]:
    need("Orthanc")
    server = Orthanc(tmp_path_factory.mktemp("orthanc-results"))
    try:
        yield server
    finally:
        server.stop()


def test_sr_and_seg_are_stored_by_orthanc_and_read_back(pacs: Orthanc, lidc: Lidc, tmp_path: Path) -> None:
    finding = masked_finding(lidc.volume, lidc.mask)
    results = write_dicom_results(tmp_path, [finding], {}, lidc.source)
    assert results.written == ["sr.dcm", "seg.dcm"]
    sent = [tmp_path / name for name in results.written]
    done = subprocess.run([sys.executable, "-m", "viewer", "send", *map(str, sent), "--to", pacs.node],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "sent 2 instances" in done.stdout
    headers = {str(pydicom.dcmread(p).SOPInstanceUID): p for p in sent}
    assert pacs.instance_uids() == set(headers)
    for item in pacs.rest("/instances?expand"):
        sop = item["MainDicomTags"]["SOPInstanceUID"]
        stored = tmp_path / f"from-orthanc-{sop}.dcm"
        url = f"http://127.0.0.1:{pacs.http_port}/instances/{item['ID']}/file"
        with urllib.request.urlopen(url, timeout=30) as response:
            stored.write_bytes(response.read())
        assert pydicom.dcmread(stored).SOPClassUID == pydicom.dcmread(headers[sop]).SOPClassUID
    [sr_back] = [p for p in tmp_path.glob("from-orthanc-*.dcm") if pydicom.dcmread(p).Modality == "SR"]
    [read] = read_sr(sr_back, lidc.volume).findings
    assert (read.id, read.label, read.score) == (finding.id, finding.label, pytest.approx(finding.score))
    assert read.box_kji == pytest.approx(finding.box_kji, abs=1e-3)
