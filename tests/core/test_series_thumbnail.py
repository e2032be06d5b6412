"""Series thumbnails from real files: native and JPEG-LS CT, a radiograph JPEG; cached."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from viewer.core.dicom_index import index_path
from viewer.core.series_thumbnail import ThumbnailError, middle_frame, thumbnail


def test_lidc_0314_middle_slice(lidc_dir: Path) -> None:
    series = index_path(lidc_dir).series[0]
    frame = middle_frame(series)
    z = sorted(f.position[2] for f in series.frames)
    assert frame.position[2] == z[len(z) // 2], "the middle of the stack, not of the file list"
    picture = thumbnail(series, 64)
    assert picture.shape == (64, 64) and picture.dtype == np.uint8
    assert picture.std() > 30, "an image, not a flat patch"
    assert picture[32, 12] < picture[32, 32], "lung (left of centre) darker than the mediastinum"
    assert thumbnail(series, 64) is picture, "cached"
    assert thumbnail(series, 32).shape == (32, 32)


def test_compressed_series(dicom_data: Path) -> None:
    folder = dicom_data / "lidc-idri-0001" / "series"
    if not folder.is_dir():
        pytest.skip(f"LIDC-0001 (JPEG-LS) not found at {folder}")
    series = index_path(folder).series[0]
    assert series.frames[0].pixel_offset is None, "encapsulated pixel data"
    picture = thumbnail(series, 48)
    assert picture.shape == (48, 48) and picture.std() > 30


def test_plain_image_and_missing_file(shared_data: Path, tmp_path: Path) -> None:
    images = sorted((shared_data / "labelled" / "fracatlas" / "images" / "Fractured").glob("*.jpg"))
    if not images:
        pytest.skip("no FracAtlas radiograph")
    series = index_path(images[0]).series[0]
    assert series.raster_path is not None
    picture = thumbnail(series, 64)
    assert max(picture.shape) <= 64 and picture.std() > 10
    copy = tmp_path / "x.jpg"
    copy.write_bytes(images[0].read_bytes())
    gone = index_path(copy).series[0]
    copy.unlink()
    with pytest.raises(ThumbnailError):
        thumbnail(gone, 64)
