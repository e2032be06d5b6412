"""The decode pool's queue and shared-memory slots, on the real JPEG-LS series LIDC-0001.

Each worker holds two files (the next waits in its pipe) and hands pixels back through
shared-memory slots: a worker killed mid-load must lose only the file it was decoding (its
queued file goes to a fresh worker), and no slot may outlive the pool.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import numpy as np
import psutil
import pydicom
import pytest
from pydicom.filereader import read_file_meta_info

from viewer.core import decode_pool
from viewer.core.charls_decode import decode_at, decode_grey_frame
from viewer.core.dicom_index import index_path
from viewer.core.pixel_reader import _hint
from viewer.core.series_loader import load_series

pytestmark = pytest.mark.usefixtures("stop_decoders_after_module")


def _worker_pids() -> list[int]:
    """Decoder processes: children of the forkserver, itself a child of this process."""
    return [grandchild.pid for child in psutil.Process().children()
            for grandchild in child.children()]


def test_a_worker_killed_mid_load_loses_only_the_file_it_was_decoding(lidc_0001: Path) -> None:
    series = index_path(lidc_0001).series[0]
    reference = load_series(series).volume.voxels
    killed: list[int] = []

    def on_slice(k: int, done: int, total: int) -> None:
        if done == 20 and not killed:
            killed.append(_worker_pids()[0])
            os.kill(killed[0], signal.SIGKILL)

    result = load_series(series, on_slice=on_slice)
    assert killed, "a worker was killed"
    crashed = [p for p in result.problems if "killed" in p.message]
    assert len(crashed) == 1, crashed  # only the file it was decoding: its queued one went on
    same = [k for k in range(133) if np.array_equal(result.volume.voxels[k], reference[k])]
    assert len(same) == 133 - len(crashed)
    assert killed[0] not in _worker_pids()
    # the pool goes on, and a kill from outside is not the file's fault: it is decoded again
    again = load_series(series)
    assert not again.problems and np.array_equal(again.volume.voxels, reference)


def test_a_worker_killed_while_idle_is_replaced(lidc_0001: Path) -> None:
    """A worker that died between two loads (killed from outside) cannot be reached: the next load
    replaces it and loses nothing (sending it a file once raised 'could not be reached')."""
    series = index_path(lidc_0001).series[0]
    reference = load_series(series).volume.voxels  # the workers now wait in the pool
    victim = decode_pool._idle[0].process
    pid = victim.pid
    os.kill(pid, signal.SIGKILL)
    victim.join(timeout=10)
    result = load_series(series)
    assert not result.problems and np.array_equal(result.volume.voxels, reference)
    assert pid not in _worker_pids()


def test_results_travel_through_slots_that_shutdown_removes(lidc_0001: Path) -> None:
    load_series(index_path(lidc_0001).series[0])
    names = [name for worker in decode_pool._idle for name in worker.slots.names]
    assert len(names) == decode_pool.worker_count() * (decode_pool.QUEUE_DEPTH + 1)
    assert all(Path("/dev/shm", name).exists() for name in names)
    decode_pool.shutdown()
    assert not [name for name in names if Path("/dev/shm", name).exists()]


def test_direct_charls_equals_pydicom_for_every_jpeg_ls_image(dicom_data: Path) -> None:
    checked = 0
    for path in sorted(dicom_data.rglob("*.dcm")):
        try:
            syntax = str(read_file_meta_info(path).get("TransferSyntaxUID", ""))
        except (OSError, pydicom.errors.InvalidDicomError):
            continue
        if syntax not in ("1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81"):
            continue
        ds = pydicom.dcmread(path)
        direct = decode_grey_frame(ds)
        if direct is None:  # colour or multi-frame: pydicom's plugins decode it
            continue
        expected = ds.pixel_array
        assert direct.dtype == expected.dtype and np.array_equal(direct, expected), path
        checked += 1
    assert checked >= 133  # LIDC-0001 and the transfer-syntax samples


def test_decoding_from_the_index_offset_equals_pydicom(lidc_0001: Path) -> None:
    """Workers decode LIDC-0001 from the byte offset the index found, skipping pydicom's parse."""
    frames = index_path(lidc_0001).series[0].frames
    for frame in frames[::11]:
        hint = _hint(frame)
        assert hint is not None and hint[0] == frame.encapsulated_offset
        direct = decode_at(str(frame.path), hint)
        expected = pydicom.dcmread(frame.path).pixel_array
        assert direct is not None and direct.dtype == expected.dtype
        assert np.array_equal(direct, expected), frame.path.name


def test_a_frozen_bundle_starts_no_decoder_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    """A PyInstaller bundle decodes in-process (no freeze_support): indexing compressed files must
    not try to start workers there — that re-ran the frozen executable with multiprocessing's
    command lines ("invalid choice") and printed an EOFError traceback from the starter thread."""
    decode_pool.shutdown()
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.delenv("RADSIGHT_DECODE_PROCESSES", raising=False)
    assert not decode_pool.processes_available()
    decode_pool.prestart()
    decode_pool.warm_up()
    assert not decode_pool._idle and not _worker_pids()
