"""The fast header scanner agrees with pydicom on every file it accepts."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pydicom.data
import pytest

from viewer.core.dicom_frames import (
    NotAnImageError,
    frames_from_dataset,
    frames_from_scan,
    read_dataset,
)

PYDICOM_TEST_FILES = Path(pydicom.data.get_testdata_file("CT_small.dcm")).parent


def _corpus(dicom_data: Path) -> list[Path]:
    roots = [dicom_data, PYDICOM_TEST_FILES]
    return sorted(p for root in roots for p in root.rglob("*") if p.is_file())


def test_scanner_matches_pydicom_on_every_accepted_file(dicom_data: Path) -> None:
    accepted = 0
    for path in _corpus(dicom_data):
        scanned = frames_from_scan(path)
        if scanned is None:
            continue
        accepted += 1
        try:
            reference = frames_from_dataset(path, read_dataset(path))
        except NotAnImageError as exc:  # scanner must not accept what pydicom rejects
            pytest.fail(f"{path.name}: scanned but pydicom says {exc}")
        if reference[0].pixel_offset is None and scanned[0].pixel_offset is not None:
            # pydicom defers only values over 2 KB
            assert len(reference) == 1 and scanned[0].rows * scanned[0].columns < 2048
            scanned = [replace(f, pixel_offset=None) for f in scanned]
        if scanned[0].encapsulated_offset is not None:  # only the scanner notes it
            _assert_items_start_at(path, scanned[0].encapsulated_offset)
            scanned = [replace(f, encapsulated_offset=None) for f in scanned]
        assert scanned == reference, path.name
    assert accepted > 300  # LIDC alone is 275 files


def _assert_items_start_at(path: Path, offset: int) -> None:
    """Encapsulated pixel data begin with an item (FFFE,E000): the basic offset table."""
    with open(path, "rb") as fh:
        fh.seek(offset)
        assert fh.read(4) == b"\xfe\xff\x00\xe0", path.name


def test_scanner_declines_what_it_does_not_handle(dicom_data: Path) -> None:
    enhanced = next((dicom_data / "philips-enhanced-mr").rglob("*.dcm"))
    assert frames_from_scan(enhanced) is None
    assert frames_from_scan(PYDICOM_TEST_FILES / "MR_small_bigendian.dcm") is None
    assert frames_from_scan(PYDICOM_TEST_FILES / "README.txt") is None
    rle = frames_from_scan(PYDICOM_TEST_FILES / "MR_small_RLE.dcm")  # encapsulated: header only
    assert rle is not None and rle[0].pixel_offset is None and not rle[0].is_native_little_endian
