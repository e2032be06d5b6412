"""Real DICOM peers for tests, on loopback with free ports: Orthanc (a PACS) and dcmtk tools.

Fixtures (session-scoped, shared by every test under ``tests/net``; re-exported by its
``conftest.py``):

- ``radsight_node_port``: a free port reserved for RadSight's own SCP in this session (Orthanc
  knows it as the modality ``RADSIGHT`` at 127.0.0.1, so C-MOVE can deliver to it).
- ``orthanc``: a running :class:`Orthanc` with its own JSON config and folders in tmp,
  ``"RemoteAccessAllowed": false``, AE title ``ORTHANC``; stopped (and waited for) at the end.
  Use ``orthanc.rest("/instances")`` etc. to see what it stored.
- ``brain_mr_in_orthanc``: the StudyInstanceUID of the 20-slice GE brain MR, sent to that Orthanc
  once by ``storescu``.

Helpers: :func:`free_port`, :func:`storescu` (``+sp '*.dcm'`` so the READMEs beside the shared
series are skipped), :func:`dcmtk_available`.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

ORTHANC_AET = "ORTHANC"
RADSIGHT_AET = "RADSIGHT"
START_TIMEOUT_S = 60.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def dcmtk_available() -> bool:
    return all(shutil.which(tool) for tool in ("storescu", "echoscu"))


def need(tool: str) -> None:
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed (Debian packages dcmtk / orthanc; see scripts/setup.sh)")


def storescu(port: int, paths: Sequence[Path], calling_aet: str = "STORESCU", called_aet: str = RADSIGHT_AET,
             timeout: float = 300.0) -> subprocess.CompletedProcess[str]:
    """dcmtk storescu of files or folders (recursively, ``*.dcm`` only) to 127.0.0.1:port."""
    command = ["storescu", "-aet", calling_aet, "-aec", called_aet, "+sd", "+r", "+sp", "*.dcm",
               "127.0.0.1", str(port), *map(str, paths)]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)


class Orthanc:
    """An Orthanc process with its own config, storage and ports (loopback only)."""

    def __init__(self, folder: Path, modalities: dict[str, list[Any]] | None = None) -> None:
        self.folder, self.aet = folder, ORTHANC_AET
        self.dicom_port, self.http_port = free_port(), free_port()
        config = {
            "Name": "RadSightTestPACS", "StorageDirectory": str(folder / "storage"),
            "IndexDirectory": str(folder / "index"), "HttpPort": self.http_port, "DicomPort": self.dicom_port,
            "DicomAet": self.aet, "RemoteAccessAllowed": False, "AuthenticationEnabled": False,
            "HttpServerEnabled": True, "DicomCheckCalledAet": False, "DicomAlwaysAllowEcho": True,
            "DicomAlwaysAllowStore": True, "StorageCompression": False, "DicomModalities": modalities or {},
            "Plugins": [], "ConcurrentJobs": 1, "LogExportedResources": False, "SaveJobs": False,
        }
        self.config_path = folder / "orthanc.json"
        folder.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(json.dumps(config, indent=2))
        self.log = (folder / "orthanc.log").open("w")
        self.process = subprocess.Popen(["Orthanc", str(self.config_path)], stdout=self.log,
                                        stderr=subprocess.STDOUT)
        self._wait_ready()

    @property
    def node(self) -> str:
        """As ``radsight send --to`` takes it."""
        return f"{self.aet}@127.0.0.1:{self.dicom_port}"

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Orthanc exited with {self.process.returncode}; see {self.log.name}")
            try:
                self.rest("/system")
                return
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"Orthanc did not answer within {START_TIMEOUT_S:.0f} s; see {self.log.name}")

    def rest(self, path: str, method: str = "GET", body: bytes | None = None, *, text: bool = False) -> Any:
        """Orthanc's REST API: the JSON answer decoded (``text=True``: the plain text answer)."""
        request = urllib.request.Request(f"http://127.0.0.1:{self.http_port}{path}", data=body, method=method)
        with urllib.request.urlopen(request, timeout=30) as response:
            answer = response.read()
        return answer.decode() if text else json.loads(answer or b"null")

    def instance_uids(self) -> set[str]:
        """SOPInstanceUIDs of everything Orthanc stores."""
        found = self.rest("/tools/find", "POST", json.dumps(
            {"Level": "Instance", "Query": {}, "Expand": True}).encode())
        return {item["MainDicomTags"]["SOPInstanceUID"] for item in found}

    def clear(self) -> None:
        for patient in self.rest("/patients"):
            self.rest(f"/patients/{patient}", "DELETE")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)
        self.log.close()


@pytest.fixture(scope="session")
def radsight_node_port() -> int:
    return free_port()


@pytest.fixture(scope="session")
def orthanc(tmp_path_factory: pytest.TempPathFactory, radsight_node_port: int) -> Iterator[Orthanc]:
    need("Orthanc")
    server = Orthanc(tmp_path_factory.mktemp("orthanc"),
                     {"radsight": [RADSIGHT_AET, "127.0.0.1", radsight_node_port]})
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def brain_mr_in_orthanc(orthanc: Orthanc, dicom_data: Path) -> str:
    """StudyInstanceUID of the GE brain MR (20 files), stored in Orthanc once per session."""
    need("storescu")
    series = dicom_data / "ge-brain-mr-20" / "series"
    if not series.is_dir():
        pytest.skip(f"GE brain MR series not found at {series}")
    done = storescu(orthanc.dicom_port, [series], called_aet=ORTHANC_AET)
    assert done.returncode == 0, done.stderr[-2000:]
    [study] = orthanc.rest("/studies?expand")
    return str(study["MainDicomTags"]["StudyInstanceUID"])
