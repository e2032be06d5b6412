"""Shared fixtures: where the real data lives, and an output folder for screenshots/reports."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(__import__("os").environ.get("RADSIGHT_SHARED_DATA", REPO.parent / "shared" / "data"))
OUTPUT = REPO / "test-output"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Root of ../shared/data; the test is skipped (with the reason) where it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data folder not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def dicom_data(shared_data: Path) -> Path:
    return shared_data / "dicom"


@pytest.fixture(scope="session")
def lidc_dir(dicom_data: Path) -> Path:
    path = dicom_data / "lidc-idri-0314" / "series"
    if not path.is_dir():
        pytest.skip(f"LIDC-0314 series not found at {path}")
    return path


@pytest.fixture(scope="session")
def output_dir() -> Path:
    OUTPUT.mkdir(exist_ok=True)
    return OUTPUT


@pytest.fixture(autouse=True)
def private_data_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own RadSight data folder (AI feedback database), never the user's."""
    path = tmp_path_factory.mktemp("radsight-data")
    monkeypatch.setenv("RADSIGHT_DATA_DIR", str(path))
    return path
