"""kill -9 of a real `radsight db import` process: the database stays consistent and re-running
the same import completes it."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest

from viewer.core.study_db import StudyDB
from viewer.core.study_store import PARTIAL_SUFFIX

REPO = Path(__file__).resolve().parents[2]
SERIES = ("lidc-idri-0314", "lidc-idri-0001", "lidc-idri-0003")


@pytest.fixture
def three_scans(dicom_data: Path, tmp_path: Path) -> Path:
    """One folder with links to the files of the three LIDC scans (548 files)."""
    folder = tmp_path / "scans"
    folder.mkdir()
    for name in SERIES:
        series = dicom_data / name / "series"
        if not series.is_dir():
            pytest.skip(f"{series} not found")
        for path in series.glob("*.dcm"):
            (folder / f"{name}-{path.name}").symlink_to(path)
    return folder


def importer(source: Path, db: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "viewer", "db", "import", str(source), "--db", str(db)],
                            env={**os.environ, "PYTHONPATH": str(REPO)}, cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def filed(db: Path) -> int:
    """Instances committed so far, read without disturbing the importer: a read-only connection
    that never sets the journal mode or creates the schema (while the importer creates them)."""
    path = db / "studies.sqlite3"
    if not path.exists():
        return 0
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM instances").fetchone()[0])
    except sqlite3.Error:  # schema not created yet
        return 0


def test_kill_9_mid_import_leaves_a_consistent_db_and_a_rerun_completes(three_scans: Path,
                                                                         tmp_path: Path) -> None:
    db, total = tmp_path / "db", len(list(three_scans.iterdir()))
    process = importer(three_scans, db)
    deadline = time.monotonic() + 300
    while filed(db) == 0 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)  # polling a condition: the first batch is committed
    process.send_signal(signal.SIGKILL)
    assert process.wait(timeout=60) == -signal.SIGKILL, "the import ended before it could be killed"
    with StudyDB(db) as study_db:
        before = study_db.counts()["instances"]
        assert 0 < before < total
        assert study_db.problems() == []
    rerun = importer(three_scans, db)
    assert rerun.wait(timeout=600) == 0
    with StudyDB(db) as study_db:
        assert study_db.counts() == {"patients": 3, "studies": 3, "series": 3, "instances": total}
        assert study_db.problems() == []
        stored = [p for p in study_db.store_dir.rglob("*") if p.is_file()]
    assert len(stored) == total and not any(p.name.endswith(PARTIAL_SUFFIX) for p in stored)
