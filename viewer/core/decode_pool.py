"""A pool of decoder processes: compressed frames decoded in parallel, each file under a budget.

Why processes: measured here (`bench/load.py` notes), pydicom's JPEG-LS/JPEG/J2K/RLE plugins hold
the GIL while they decode, so threads give no speed-up. Worker processes also contain what a
corrupt file can do to a native decoder: a crash ends one worker (reported for that file, the
pool is restarted), a file that takes longer than its time budget has its worker killed, and
each worker runs under an address-space limit so that one file cannot exhaust the machine.

Workers are forked from a `forkserver` (never from the app process itself, which runs Qt
threads). Each task is one file: a multi-frame file is decoded once, and a failure is
remembered (`FailedDecodes`) so a broken file is never decoded again for the next frame or the
next open of its folder.
"""

from __future__ import annotations

import atexit
import contextlib
import multiprocessing
import os
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import numpy as np

from viewer.core.frame_decoder import PixelDecodeError, decode_file

#: Seconds a file may take to decode, plus this much per MB of decoded pixels.
TIME_BUDGET_S = 20.0
TIME_BUDGET_S_PER_MB = 0.5
#: Address space a worker may add on top of what it holds after start-up.
MEMORY_BUDGET_BYTES = 3 * 1024**3

_lock = threading.Lock()
_executor: ProcessPoolExecutor | None = None
_submitted = 0


def tasks_submitted() -> int:
    """Decode tasks handed to the workers since start-up (one per file decoded)."""
    return _submitted


def worker_count() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


def _start_worker() -> None:
    """Worker initialiser: quiet decoders (errors come back as results), capped memory."""
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


def _decode_task(path: str) -> np.ndarray | PixelDecodeError:
    try:
        return decode_file(path)
    except PixelDecodeError as exc:
        return exc


def _get_executor() -> ProcessPoolExecutor:
    global _executor
    with _lock:
        if _executor is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["viewer.core.frame_decoder"])
            _executor = ProcessPoolExecutor(worker_count(), mp_context=context,
                                            initializer=_start_worker)
        return _executor


def shutdown() -> None:
    """Stop the worker processes (they start again on the next decode)."""
    global _executor
    with _lock:
        executor, _executor = _executor, None
    if executor is not None:
        _kill(executor)


def _kill(executor: ProcessPoolExecutor) -> None:
    processes = list((getattr(executor, "_processes", None) or {}).values())
    for process in processes:
        if process.is_alive():
            process.kill()
    executor.shutdown(wait=True, cancel_futures=True)
    for process in processes:
        process.join(timeout=5)


atexit.register(shutdown)


def warm_up() -> None:
    """Start the workers now (e.g. when the app opens) so the first load does not wait."""
    executor = _get_executor()
    for future in [executor.submit(os.getpid) for _ in range(worker_count())]:
        future.result()


def prestart() -> None:
    """Start the workers in the background (called when an index finds compressed images)."""
    if _executor is not None:
        return

    def start() -> None:
        # shut down meanwhile, or cannot start: the next decode says so
        with contextlib.suppress(RuntimeError, BrokenProcessPool, OSError):
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
    """Decode each (file, decoded bytes expected) in the pool; yield (file, pixels or error).

    Results come as they land (not in order). At most two tasks per worker are in flight, so
    memory held by finished-but-unconsumed results stays small.
    """
    pending = list(jobs)
    pending.reverse()  # pop() from the end keeps the given order
    while pending:
        if cancel is not None and cancel.is_set():
            return
        broken = yield from _run_batch(pending, cancel)
        if broken:  # the pool broke: retry those in flight one by one to find the culprit
            yield from _isolate(broken, cancel)


def _run_batch(pending: list[tuple[Path, int]],
               cancel: threading.Event | None) -> Iterator[DecodeResult]:
    """Run ``pending`` (consumed from the end); return the jobs in flight if the pool broke."""
    executor = _get_executor()
    window = 2 * worker_count()
    in_flight: dict[Future, tuple[Path, int, float]] = {}
    while pending or in_flight:
        while pending and len(in_flight) < window:
            path, nbytes = pending[-1]
            try:
                future = executor.submit(_decode_task, str(path))
            except (BrokenProcessPool, RuntimeError):
                shutdown()
                return [(p, n) for p, n, _ in in_flight.values()]
            pending.pop()
            _count_submitted()
            in_flight[future] = (path, nbytes, time.monotonic() + _budget_s(nbytes))
        if cancel is not None and cancel.is_set():
            for future in in_flight:
                future.cancel()
            return []
        done, _ = wait(in_flight, timeout=_next_deadline(in_flight), return_when=FIRST_COMPLETED)
        if not done:
            return (yield from _expire(in_flight, pending))
        for future in done:
            path, nbytes, _deadline = in_flight.pop(future)
            try:
                result = future.result()
            except BrokenProcessPool:
                shutdown()
                return [(p, n) for p, n, _ in in_flight.values()] + [(path, nbytes)]
            if isinstance(result, PixelDecodeError):
                FAILED.add(path, result)
            yield path, result
    return []


def _count_submitted() -> None:
    global _submitted
    with _lock:
        _submitted += 1


def _expire(in_flight: dict[Future, tuple[Path, int, float]],
            pending: list[tuple[Path, int]]) -> Iterator[DecodeResult]:
    """A task ran past its budget: kill the pool, report it, hand the others back."""
    now = time.monotonic()
    shutdown()
    retry = []
    for path, nbytes, deadline in in_flight.values():
        if deadline <= now:
            error = PixelDecodeError(f"decoding took longer than {_budget_s(nbytes):.0f} s "
                                     "(file skipped)")
            FAILED.add(path, error)
            yield path, error
        else:
            retry.append((path, nbytes))
    pending.extend(reversed(retry))
    return []


def _isolate(jobs: list[tuple[Path, int]], cancel: threading.Event | None) -> Iterator[DecodeResult]:
    for path, nbytes in jobs:
        if cancel is not None and cancel.is_set():
            return
        single = [(path, nbytes)]
        broken = yield from _run_batch(single, cancel)
        if broken:
            shutdown()
            error = PixelDecodeError("the decoder crashed on this file (file skipped)")
            FAILED.add(path, error)
            yield path, error


def _next_deadline(in_flight: dict[Future, tuple[Path, int, float]]) -> float:
    soonest = min(deadline for _p, _n, deadline in in_flight.values())
    return max(0.0, soonest - time.monotonic())


def _budget_s(nbytes: int) -> float:
    return TIME_BUDGET_S + TIME_BUDGET_S_PER_MB * nbytes / 1e6
