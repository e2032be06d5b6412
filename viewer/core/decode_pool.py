"""A pool of decoder processes: compressed frames decoded in parallel, each file under a budget.

Why processes: measured here (`bench/load.py` notes), pydicom's JPEG-LS/JPEG/J2K/RLE plugins hold
the GIL while they decode, so threads give no speed-up. Worker processes also contain what a
corrupt file can do to a native decoder: a crash ends one worker (reported for that file; a new
worker takes its place), a file that takes longer than its time budget has its worker killed,
and each worker runs under an address-space limit so that one file cannot exhaust the machine.

Each worker has its own pipe (no shared result queue that a killed worker could leave half
written). Workers are forked from a `forkserver` (never from the app process itself, which runs
Qt threads); as with any multiprocessing start method but fork, a script that loads series must
guard its top level with ``if __name__ == "__main__":``. Each task is one file: a multi-frame
file is decoded once, and a failure is remembered (`FailedDecodes`) so a broken file is never
decoded again for the next frame or the next open of its folder. Results come back pickled and
are copied into the volume by the loader: a worker never writes into the app's memory, so a
cancelled load whose volume is dropped is safe.
"""

from __future__ import annotations

import atexit
import contextlib
import multiprocessing
import os
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from multiprocessing.connection import Connection, wait
from pathlib import Path

import numpy as np

from viewer.core.frame_decoder import PixelDecodeError, decode_file
from viewer.core.problems import DicomLoadError

#: Seconds a file may take to decode, plus this much per MB of decoded pixels.
TIME_BUDGET_S = 20.0
TIME_BUDGET_S_PER_MB = 0.5
#: Address space a worker may add on top of what it holds after start-up.
MEMORY_BUDGET_BYTES = 3 * 1024**3

_lock = threading.Lock()
_idle: list[_Worker] = []
_submitted = 0


def worker_count() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


def tasks_submitted() -> int:
    """Decode tasks handed to the workers since start-up (one per file decoded)."""
    return _submitted


def _start_worker() -> None:
    """In the worker: quiet decoders (errors come back as results), capped memory."""
    import resource
    import warnings

    warnings.simplefilter("ignore")  # pydicom's per-file warnings: the result says what failed
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)  # native decoders print "Corrupt JPEG data…" lines on stderr
    os.close(devnull)
    with open("/proc/self/statm") as fh:
        in_use = int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    limit = in_use + MEMORY_BUDGET_BYTES
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _serve(conn: Connection) -> None:
    """Worker main loop: a path in, the decoded frames (or the error) out; None stops it."""
    _start_worker()
    while True:
        try:
            path = conn.recv()
        except (EOFError, OSError):
            return
        if path is None:
            return
        try:
            result: np.ndarray | PixelDecodeError = decode_file(path)
        except PixelDecodeError as exc:
            result = exc
        conn.send(result)


class _Worker:
    """One decoder process and the pipe to it."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["viewer.core.frame_decoder"])
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_serve, args=(child,), daemon=True,
                                       name="radsight-decoder")
        try:
            self.process.start()
        except (OSError, RuntimeError) as exc:
            raise DicomLoadError(f"the decoder process could not start ({exc})") from None
        finally:
            child.close()
        self.job: tuple[Path, int] | None = None
        self.deadline = 0.0

    def give(self, job: tuple[Path, int]) -> None:
        self.job, self.deadline = job, time.monotonic() + _budget_s(job[1])
        try:
            self.conn.send(str(job[0]))
        except (OSError, ValueError) as exc:
            raise DicomLoadError(f"the decoder process could not be reached ({exc})") from None

    def stop(self, kill: bool = False) -> None:
        if not kill:
            with contextlib.suppress(OSError, ValueError):
                self.conn.send(None)
            self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout=5)
        self.conn.close()
        with contextlib.suppress(ValueError):
            self.process.close()


def _borrow(n: int) -> list[_Worker]:
    with _lock:
        taken = [_idle.pop() for _ in range(min(n, len(_idle)))]
    return taken + [_Worker() for _ in range(n - len(taken))]


def _give_back(workers: Iterable[_Worker]) -> None:
    with _lock:
        _idle.extend(workers)


def shutdown() -> None:
    """Stop the idle worker processes (new ones start on the next decode)."""
    with _lock:
        workers = list(_idle)
        _idle.clear()
    for worker in workers:
        worker.stop()


atexit.register(shutdown)


def warm_up() -> None:
    """Start the workers now (e.g. when the app opens) so the first load does not wait."""
    _give_back(_borrow(worker_count()))


def prestart() -> None:
    """Start the workers in the background (called when an index finds compressed images)."""
    if _idle:
        return

    def start() -> None:
        with contextlib.suppress(OSError, RuntimeError):  # the next decode will say why
            warm_up()

    threading.Thread(target=start, name="decode-pool-start", daemon=True).start()


class FailedDecodes:
    """Files whose decode failed, keyed by (path, size, mtime): never decoded twice."""

    def __init__(self) -> None:
        self._failed: dict[tuple[str, int, int], PixelDecodeError] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _key(path: Path) -> tuple[str, int, int] | None:
        try:
            stat = path.stat()
        except OSError:
            return None
        return str(path), stat.st_size, stat.st_mtime_ns

    def get(self, path: Path) -> PixelDecodeError | None:
        key = self._key(path)
        with self._lock:
            return self._failed.get(key) if key else None

    def add(self, path: Path, error: PixelDecodeError) -> None:
        key = self._key(path)
        if key:
            with self._lock:
                self._failed[key] = error


FAILED = FailedDecodes()
DecodeResult = tuple[Path, np.ndarray | PixelDecodeError]


def decode_files(jobs: Iterable[tuple[Path, int]],
                 cancel: threading.Event | None = None) -> Iterator[DecodeResult]:
    """Decode each (file, decoded bytes expected) in the workers; yield (file, pixels or error).

    Results come as they land (not in order); one file per worker at a time.
    """
    pending = list(jobs)
    pending.reverse()  # pop() from the end keeps the given order
    if not pending:
        return
    if not processes_available():
        yield from _decode_here(pending, cancel)
        return
    workers = _borrow(min(worker_count(), len(pending)))
    healthy: list[_Worker] = []
    try:
        yield from _run(workers, pending, healthy, cancel)
    finally:
        for worker in workers:  # still busy (cancelled, or the caller stopped early)
            if worker not in healthy:
                worker.stop(kill=True)
        _give_back(healthy)


def processes_available() -> bool:
    """Worker processes need a normal Python; a frozen bundle decodes in-process instead,
    unless its entry point calls ``multiprocessing.freeze_support()`` and sets
    ``RADSIGHT_DECODE_PROCESSES=1``."""
    return not getattr(sys, "frozen", False) or os.environ.get("RADSIGHT_DECODE_PROCESSES") == "1"


_in_process_lock = threading.Lock()


def _decode_here(pending: list[tuple[Path, int]],
                 cancel: threading.Event | None) -> Iterator[DecodeResult]:
    """Fallback: decode in this process, one file at a time (no time budget, no isolation)."""
    while pending and not (cancel is not None and cancel.is_set()):
        path, _nbytes = pending.pop()
        try:
            with _in_process_lock:  # python-gdcm is not thread-safe
                result: np.ndarray | PixelDecodeError = decode_file(path, in_worker=False)
        except PixelDecodeError as exc:
            result = exc
            FAILED.add(path, exc)
        yield path, result


def _run(workers: list[_Worker], pending: list[tuple[Path, int]], healthy: list[_Worker],
         cancel: threading.Event | None) -> Iterator[DecodeResult]:
    busy: list[_Worker] = []
    for worker in workers:
        _next_job(worker, pending, busy, healthy)
    while busy:
        if cancel is not None and cancel.is_set():
            return
        timeout = max(0.0, min(w.deadline for w in busy) - time.monotonic())
        ready = wait([w.conn for w in busy], timeout=min(timeout, 0.5))
        for worker in [w for w in busy if w.conn in ready]:
            busy.remove(worker)
            path, result = _receive(worker)
            if isinstance(result, PixelDecodeError):
                FAILED.add(path, result)
            yield path, result
            if worker.job is None:  # answered: ready for the next file
                _next_job(worker, pending, busy, healthy)
            else:  # crashed: a fresh worker goes on with the rest
                _replace(worker, workers, pending, busy, healthy)
        yield from _expired(workers, pending, busy, healthy)


def _receive(worker: _Worker) -> DecodeResult:
    path = worker.job[0]  # type: ignore[index]
    try:
        result = worker.conn.recv()
    except (EOFError, OSError):  # the worker died on this file (native crash, OOM kill)
        return path, PixelDecodeError("the decoder crashed on this file (file skipped)")
    worker.job = None
    return path, result


def _expired(workers: list[_Worker], pending: list[tuple[Path, int]], busy: list[_Worker],
             healthy: list[_Worker]) -> Iterator[DecodeResult]:
    now = time.monotonic()
    for worker in [w for w in busy if w.deadline <= now]:
        busy.remove(worker)
        path, nbytes = worker.job  # type: ignore[misc]
        error = PixelDecodeError(f"decoding took longer than {_budget_s(nbytes):.0f} s "
                                 "(file skipped)")
        FAILED.add(path, error)
        yield path, error
        _replace(worker, workers, pending, busy, healthy)


def _replace(worker: _Worker, workers: list[_Worker], pending: list[tuple[Path, int]],
             busy: list[_Worker], healthy: list[_Worker]) -> None:
    worker.stop(kill=True)
    workers.remove(worker)
    if pending:
        fresh = _Worker()
        workers.append(fresh)
        _next_job(fresh, pending, busy, healthy)


def _next_job(worker: _Worker, pending: list[tuple[Path, int]], busy: list[_Worker],
              healthy: list[_Worker]) -> None:
    if pending:
        global _submitted
        worker.give(pending.pop())
        with _lock:
            _submitted += 1
        busy.append(worker)
    else:
        healthy.append(worker)


def _budget_s(nbytes: int) -> float:
    return TIME_BUDGET_S + TIME_BUDGET_S_PER_MB * nbytes / 1e6
