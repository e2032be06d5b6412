"""Fixtures shared by the Qt-free core tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from viewer.core.dicom_index import index_path


@pytest.fixture()
def ten_slices(tmp_path: Path, lidc_dir: Path) -> Path:
    """Ten contiguous LIDC-0314 slices (implicit VR, 1 mm apart) in their own folder."""
    frames = sorted(index_path(lidc_dir).series[0].frames, key=lambda f: f.position[2])
    folder = tmp_path / "series"
    folder.mkdir()
    for n, frame in enumerate(frames[100:110]):
        shutil.copy(frame.path, folder / f"slice{n:02d}.dcm")
    return folder
