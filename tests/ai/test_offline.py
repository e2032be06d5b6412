"""Offline for real: `radsight analyze` (a CT, a radiograph) and the viewer's start-up, each run under
``strace -f -e trace=connect`` with telemetry switches removed from the environment (the product must
set them itself), open no AF_INET/AF_INET6 connection and write nothing outside RadSight's own
folders, the ``--out`` folder and the test's files."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ai.offline import TELEMETRY_OFF

STRACE = shutil.which("strace")
ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(STRACE is None,
                                reason="strace is not installed (scripts/setup.sh installs it)")

VIEWER_START = """
import sys
from PySide6.QtCore import QTimer
from viewer.ui.app import create_app
from viewer.ui.main_window import MainWindow

app = create_app()
window = MainWindow()
window.show()
window.open_path(sys.argv[1])
state = {"started": False}

def poll():
    if not state["started"]:
        if window.model.volume is not None and window.model.complete:
            window.ai.declare_plain_image("DX")  # as the reader does, once the image is open
            state["started"] = window.ai.analyze()
    elif not window.ai.running:
        print("STATUS", window.status_label.text(), flush=True)
        window.close()
        app.quit()
        return
    QTimer.singleShot(50, poll)

QTimer.singleShot(0, poll)
sys.exit(app.exec())
"""


def _environment(home: Path) -> dict[str, str]:
    """This environment without the telemetry switches and XDG folders, with ``home`` as HOME."""
    env = {k: v for k, v in os.environ.items() if k not in TELEMETRY_OFF and not k.startswith("XDG_")}
    env.update(HOME=str(home), PYTHONPATH=str(ROOT), QT_QPA_PLATFORM="offscreen")
    return env


def traced(tmp_path: Path, *args: str, timeout: int = 900) -> tuple[subprocess.CompletedProcess, list[str]]:
    """Run ``python *args`` under strace in a fresh HOME; the process and its inet connect() lines."""
    home, log = tmp_path / "home", tmp_path / "connect.strace"
    home.mkdir(exist_ok=True)
    command = [STRACE, "-f", "-qq", "-e", "trace=connect", "-o", str(log), sys.executable, *args]
    done = subprocess.run(command, env=_environment(home), cwd=tmp_path, capture_output=True, text=True,
                          timeout=timeout)
    inet = [line for line in log.read_text().splitlines() if "AF_INET" in line]
    return done, inet


def written_outside_radsight(home: Path) -> list[str]:
    """Files under ``home`` that are not in a folder of RadSight's own."""
    return sorted(str(p.relative_to(home)) for p in home.rglob("*")
                  if p.is_file() and "RadSight" not in p.relative_to(home).parts)


def test_the_detector_sees_an_inet_connect(tmp_path: Path) -> None:
    """A loopback connect() (to a port nobody listens on) is caught: the checks below can fail."""
    code = ("import socket; s = socket.socket(); s.settimeout(2)\n"
            "try: s.connect(('127.0.0.1', 9))\nexcept OSError: pass")
    _, inet = traced(tmp_path, "-c", code)
    assert inet and "127.0.0.1" in inet[0]


def test_analyze_a_radiograph_stays_offline(tmp_path: Path, shared_data: Path) -> None:
    image = next((shared_data / "labelled" / "fracatlas" / "images" / "Fractured").glob("*.jpg"), None)
    if image is None:
        pytest.skip("no FracAtlas radiograph under ../shared/data/labelled/fracatlas")
    done, inet = traced(tmp_path, "-m", "viewer", "analyze", str(image), "--modality", "DX",
                        "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    assert "fracture-radiograph" in done.stdout
    assert inet == []
    assert written_outside_radsight(tmp_path / "home") == []


@pytest.mark.slow
def test_analyze_lidc_0314_stays_offline(tmp_path: Path, lidc_dir: Path) -> None:
    done, inet = traced(tmp_path, "-m", "viewer", "analyze", str(lidc_dir), "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    assert "nodule-ct" in done.stdout
    assert inet == []
    assert written_outside_radsight(tmp_path / "home") == []
    check_nodule_findings_json(tmp_path / "out")


def check_nodule_findings_json(out: Path) -> None:
    """(The same run, to spare CI a second CT analysis.) Each nodule finding has its own explanation
    files and map peak in mm; words are true: every finding ≥ the threshold passes, and a marking rule
    (nodule-ct has none: no per-scan cap) is named in the document and on each finding it hid."""
    document = json.loads((out / "findings.json").read_text())
    findings = document["findings"]
    [run] = document["series"][0]["models"]
    assert all(f["hidden_by"] in run["mark_rules"] for f in findings if f["hidden_by"])
    assert len({f["explanation"] for f in findings}) == len(findings)  # one file each
    for f in findings:
        assert (out / f["explanation"]).is_file() and (out / f["explanation_map"]).is_file()
        assert f["passes_operating_point"] == (f["score"] >= f["threshold"])
        assert f["explanation_peak_mm"] is not None
    marked = [f for f in findings if f["passes_operating_point"] and not f["hidden_by"]]
    capped = [f for f in findings if f["hidden_by"] == "per_scan_cap"]
    assert marked and all(f["passes_operating_point"] for f in capped)
    assert min(f["score"] for f in marked) >= max((f["score"] for f in capped), default=0.0)


@pytest.mark.gui
def test_viewer_start_up_and_analyze_stay_offline(tmp_path: Path, shared_data: Path) -> None:
    image = next((shared_data / "labelled" / "fracatlas" / "images" / "Fractured").glob("*.jpg"), None)
    if image is None:
        pytest.skip("no FracAtlas radiograph under ../shared/data/labelled/fracatlas")
    script = tmp_path / "start_viewer.py"
    script.write_text(VIEWER_START, encoding="utf-8")
    done, inet = traced(tmp_path, str(script), str(image))
    assert done.returncode == 0, done.stderr
    assert "fracture-radiograph" in done.stdout  # the analysis ran in the window
    assert inet == []
    assert written_outside_radsight(tmp_path / "home") == []
