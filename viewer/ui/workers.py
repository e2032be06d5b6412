"""Indexing and loading off the UI thread, reporting through Qt signals.

`LoadWorker` runs `viewer.core.series_loader.load_series` in a `QThread`: ``geometry_ready``
fires with the volume as soon as the headers are read (its voxel array is being filled), so the
first slice is on screen before the series is read; ``progress`` follows as slices land (at most
every 50 ms) and ``finished`` carries the `LoadResult`. Every failure arrives as ``failed`` with
one readable sentence, never a traceback.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import shiboken6
from PySide6.QtCore import QObject, QThread, Signal

from viewer.core.dicom_index import DicomIndex, SeriesRecord, index_path
from viewer.core.problems import DicomLoadError
from viewer.core.series_loader import LoadCancelled, load_series
from viewer.core.volume import Volume

_PROGRESS_INTERVAL_S = 0.05
_STARTED: list[QThread] = []  # threads of start_worker not yet seen finished (GUI thread only)


def readable_error(exc: BaseException) -> str:
    """One sentence for the status bar / message box (no traceback, no patient data)."""
    if isinstance(exc, DicomLoadError):
        return str(exc)
    if isinstance(exc, FileNotFoundError):
        return f"Not found: {exc.filename or exc}"
    if isinstance(exc, PermissionError):
        return f"No permission to read {exc.filename or 'the file'}"
    if isinstance(exc, MemoryError):
        return "Not enough memory to load this series"
    return f"Could not load the series ({type(exc).__name__}: {exc})"


class IndexWorker(QObject):
    """Indexes a folder / file / DICOMDIR into patients → studies → series."""

    progress = Signal(int, int)
    finished = Signal(object)  # DicomIndex
    failed = Signal(str)

    def __init__(self, path: str | os.PathLike[str]) -> None:
        super().__init__()
        self.path = Path(path)

    def run(self) -> None:
        try:
            index: DicomIndex = index_path(self.path, progress=self._progress)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a message
            self.failed.emit(readable_error(exc))
            return
        self.finished.emit(index)

    def _progress(self, done: int, total: int) -> None:
        if done == total or done % 16 == 0:
            self.progress.emit(done, total)


class LoadWorker(QObject):
    """Loads one series progressively; see the module docstring for the signals."""

    geometry_ready = Signal(object)  # Volume whose voxels are being filled
    progress = Signal(int, int)  # slices done, total
    finished = Signal(object)  # LoadResult
    failed = Signal(str)

    def __init__(self, source: str | os.PathLike[str] | SeriesRecord, series_key: str | None = None) -> None:
        super().__init__()
        self.source = source
        self.series_key = series_key
        self._cancel = threading.Event()
        self._last_progress = 0.0

    def cancel(self) -> None:
        self._cancel.set()

    def run(self) -> None:
        try:
            result = load_series(self.source, series_key=self.series_key, on_geometry=self._geometry,
                                 on_slice=self._slice, cancel=self._cancel)
        except LoadCancelled:
            self.failed.emit("Loading cancelled")
            return
        except Exception as exc:  # noqa: BLE001 - every failure becomes a message
            self.failed.emit(readable_error(exc))
            return
        self.finished.emit(result)

    def _geometry(self, volume: Volume) -> None:
        self.geometry_ready.emit(volume)

    def _slice(self, k: int, done: int, total: int) -> None:
        now = time.monotonic()
        if done == total or now - self._last_progress >= _PROGRESS_INTERVAL_S:
            self._last_progress = now
            self.progress.emit(done, total)


def start_worker(worker: QObject, parent: QObject, on_done: Callable[[], None] | None = None) -> QThread:
    """Run ``worker.run`` in a new QThread owned by ``parent``; the thread quits when it ends.

    The caller keeps the Python reference to ``worker`` and drops it in the GUI thread once the
    thread has ended (`QThread.wait` after ``finished``, see `MainWindow.track_thread`). The worker
    is deliberately *not* ``deleteLater``-ed: that deleted it in the ending worker thread while
    Python freed the same wrapper in the GUI thread — a double free that crashed the process
    (segfault in a thread with "no Python frame").
    """
    thread = QThread(parent)
    thread.setObjectName(f"rs-{type(worker).__name__}")  # the OS thread's name (crash dumps, tests)
    worker.moveToThread(thread)
    thread.started.connect(worker.run)
    worker.finished.connect(thread.quit)
    worker.failed.connect(thread.quit)
    if on_done is not None:
        thread.finished.connect(on_done)
    thread.start()
    running_worker_threads()  # forget the ended ones
    _STARTED.append(thread)
    return thread


def running_worker_threads() -> list[QThread]:
    """Threads started by `start_worker` that are still running (call from the GUI thread)."""
    _STARTED[:] = [t for t in _STARTED if shiboken6.isValid(t) and not t.isFinished()]
    return [t for t in _STARTED if t.isRunning()]
