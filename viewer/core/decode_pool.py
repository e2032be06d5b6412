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
decoded again for the next frame or the next open of its folder. A worker holds up to
`QUEUE_DEPTH` files (the next path waits in its pipe) and puts each result in a shared-memory
slot (`result_slots`) of its own, from which the loader copies it into the volume: a worker
never writes into the volume itself, so a cancelled load whose volume is dropped is safe.
Results are views into a slot: valid until the generator is resumed.
"""

from __future__ import annotations

import atexit
import contextlib
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import NamedTuple

import numpy as np

from viewer.core.charls_decode import FrameHint
from viewer.core.frame_decoder import PixelDecodeError, decode_file
from viewer.core.problems import DicomLoadError
from viewer.core.result_slots import ResultSlots, WorkerSlots

#: Seconds a file may take to decode, plus this much per MB of decoded pixels.
TIME_BUDGET_S = 20.0
TIME_BUDGET_S_PER_MB = 0.5
#: Address space a worker may add on top of what it holds after start-up.
MEMORY_BUDGET_BYTES = 3 * 1024**3
#: Files sent to a worker ahead of its answers: the next path waits in its pipe while it
#: decodes, so it never idles while this process (busy, or not yet scheduled) reads a result.
QUEUE_DEPTH = 2

_lock = threading.Lock()
_idle: list[_Worker] = []
_submitted = 0


def worker_count() -> int:
    """One worker per core this process may run on (its affinity mask), at most 8."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, 8))


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


def _serve(conn: Connection, slot_names: list[str]) -> None:
    """Worker main loop: (path, slot) in, the decoded frames' shape and dtype (pixels in the
    slot), the frames themselves, or the error out; None stops it."""
    _start_worker()
    slots = WorkerSlots(slot_names)
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        path, slot, hint = job
        try:
            result: np.ndarray | PixelDecodeError = decode_file(path, hint=hint)
        except PixelDecodeError as exc:
            result = exc
        placed = slots.put(slot, result) if isinstance(result, np.ndarray) else None
        conn.send(placed if placed is not None else result)


class _Worker:
    """One decoder process and the pipe to it."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["viewer.core.frame_decoder"])
        self.conn, child = context.Pipe()
        self.slots = ResultSlots(QUEUE_DEPTH + 1)
        self.process = context.Process(target=_serve, args=(child, self.slots.names),
                                       daemon=True, name="radsight-decoder")
        try:
            self.process.start()
        except (OSError, RuntimeError) as exc:
            self.slots.release()
            raise DicomLoadError(f"the decoder process could not start ({exc})") from None
        finally:
            child.close()
        self.jobs: deque[Job] = deque()  # sent, unanswered; the first is decoding
        self.job_slots: deque[int | None] = deque()  # the slot each of them answers in
        self.sent = 0
        self.deadline = 0.0

    def give(self, job: Job) -> bool:
        """Send the worker a job; False when it cannot be reached (it has died: its pipe is
        broken), the job then not being its."""
        slot = self.sent % len(self.slots) if len(self.slots) else None
        try:
            self.conn.send((str(job.path), slot, job.hint))
        except (OSError, ValueError):
            return False
        if not self.jobs:
            self.deadline = time.monotonic() + _budget_s(job.nbytes)
        self.sent += 1
        self.jobs.append(job)
        self.job_slots.append(slot)
        return True

    def answered(self) -> None:
        """The first job's result arrived: the next one's budget starts now."""
        self.jobs.popleft()
        self.job_slots.popleft()
        if self.jobs:
            self.deadline = time.monotonic() + _budget_s(self.jobs[0].nbytes)

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
        self.slots.release()

    def result(self) -> np.ndarray | PixelDecodeError:
        """Read the first job's answer (raises EOFError/OSError if the worker died)."""
        message = self.conn.recv()
        if isinstance(message, tuple):  # (shape, dtype): the pixels wait in the job's slot
            return self.slots.view(self.job_slots[0], *message)  # type: ignore[arg-type]
        return message


def idle_worker_pids() -> list[int]:
    """Process ids of the idle workers (diagnostics; the tests stop one to make a decoder hang)."""
    with _lock:
        return [w.process.pid for w in _idle if w.process.pid is not None]


def _borrow(n: int) -> list[_Worker]:
    with _lock:
        taken = [_idle.pop() for _ in range(min(n, len(_idle)))]
    for worker in [w for w in taken if not w.process.is_alive()]:  # killed while idle
        worker.stop(kill=True)
        taken.remove(worker)
    return taken + [_Worker() for _ in range(n - len(taken))]


def _give_back(workers: Iterable[_Worker]) -> None:
    """Keep up to `worker_count` idle workers (a background warm-up racing a load can start
    more); stop the others."""
    with _lock:
        _idle.extend(workers)
        extra = _idle[worker_count():]
        del _idle[worker_count():]
    for worker in extra:
        worker.stop()


def shutdown() -> None:
    """Stop the idle worker processes (new ones start on the next decode)."""
    with _lock:
        workers = list(_idle)
        _idle.clear()
    for worker in workers:
        worker.stop()


atexit.register(shutdown)


def warm_up() -> None:
    """Start the workers now (e.g. when the app opens) so the first load does not wait; nothing
    where files are decoded in this process (`processes_available`)."""
    if processes_available():
        _give_back(_borrow(worker_count()))


def prestart() -> None:
    """Start the workers in the background (called when an index finds compressed images)."""
    if _idle or not processes_available():  # a frozen bundle decodes in-process: no workers
        return

    def start() -> None:
        with contextlib.suppress(OSError, RuntimeError, EOFError):  # the next decode says why
            warm_up()

    threading.Thread(target=start, name="decode-pool-start", daemon=True).start()


class Job(NamedTuple):
    """A file to decode, the bytes its frames decode to (its time budget), and what the index
    knows that lets the worker skip parsing its header (`charls_decode.decode_at`)."""

    path: Path
    nbytes: int
    hint: FrameHint | None = None


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


def decode_files(jobs: Iterable[Job | tuple[Path, int]],
                 cancel: threading.Event | None = None) -> Iterator[DecodeResult]:
    """Decode each (file, decoded bytes expected) in the workers; yield (file, pixels or error).

    Results come as they land (not in order); each worker holds up to `QUEUE_DEPTH` files.
    Decoded pixels may be a view into a worker's shared-memory slot: use them (copy them
    out) before asking for the next result.
    """
    pending = [Job(*job) for job in jobs]
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


def _decode_here(pending: list[Job],
                 cancel: threading.Event | None) -> Iterator[DecodeResult]:
    """Fallback: decode in this process, one file at a time (no time budget, no isolation)."""
    while pending and not (cancel is not None and cancel.is_set()):
        path, _nbytes, hint = pending.pop()
        try:
            with _in_process_lock:  # python-gdcm is not thread-safe
                result: np.ndarray | PixelDecodeError = decode_file(path, in_worker=False,
                                                                    hint=hint)
        except PixelDecodeError as exc:
            result = exc
            FAILED.add(path, exc)
        yield path, result


def _run(workers: list[_Worker], pending: list[Job], healthy: list[_Worker],
         cancel: threading.Event | None) -> Iterator[DecodeResult]:
    busy: list[_Worker] = []
    for _ in range(QUEUE_DEPTH):  # one file each first: the first slices come soonest
        for worker in list(workers):
            _next_job(worker, workers, pending, busy, healthy)
    while busy:
        if cancel is not None and cancel.is_set():
            return
        timeout = max(0.0, min(w.deadline for w in busy) - time.monotonic())
        ready = wait([w.conn for w in busy], timeout=min(timeout, 0.5))
        for worker in [w for w in busy if w.conn in ready]:
            path, result, crashed = _receive(worker)
            if isinstance(result, PixelDecodeError) and not isinstance(result, DecoderKilled):
                FAILED.add(path, result)
            if crashed:  # a fresh worker goes on with the rest
                busy.remove(worker)
                _replace(worker, workers, pending, busy, healthy)
            else:
                worker.answered()
                _next_job(worker, workers, pending, busy, healthy)
            yield path, result
        yield from _expired(workers, pending, busy, healthy)


class DecoderKilled(PixelDecodeError):
    """The worker was killed from outside (SIGKILL: the user, the OOM killer) while decoding a
    file: not the file's fault, so the file is tried again next time (not in `FAILED`)."""


def _receive(worker: _Worker) -> tuple[Path, np.ndarray | PixelDecodeError, bool]:
    """The first job's result, and whether the worker died on it."""
    path = worker.jobs[0].path
    try:
        return path, worker.result(), False
    except (EOFError, OSError):  # the worker died on this file (native crash, kill)
        worker.process.join(timeout=10.0)  # dead: the forkserver reports its status (slow when busy)
        if worker.process.exitcode == -signal.SIGKILL:
            return path, DecoderKilled("the decoder was killed while decoding this file "
                                       "(file skipped; it is tried again next time)"), True
        return path, PixelDecodeError("the decoder crashed on this file (file skipped)"), True


def _expired(workers: list[_Worker], pending: list[Job], busy: list[_Worker],
             healthy: list[_Worker]) -> Iterator[DecodeResult]:
    now = time.monotonic()
    for worker in [w for w in busy if w.deadline <= now]:
        busy.remove(worker)
        path, nbytes, _hint = worker.jobs[0]
        error = PixelDecodeError(f"decoding took longer than {_budget_s(nbytes):.0f} s "
                                 "(file skipped)")
        FAILED.add(path, error)
        _replace(worker, workers, pending, busy, healthy)
        yield path, error


def _replace(worker: _Worker, workers: list[_Worker], pending: list[Job],
             busy: list[_Worker], healthy: list[_Worker]) -> None:
    """Kill a worker whose first job failed; its other jobs go back to the queue."""
    worker.stop(kill=True)
    workers.remove(worker)
    pending.extend(reversed(list(worker.jobs)[1:]))  # pop() from the end: they come next
    if pending:
        fresh = _Worker()
        workers.append(fresh)
        for _ in range(QUEUE_DEPTH):
            _next_job(fresh, workers, pending, busy, healthy, fresh=True)


def _next_job(worker: _Worker, workers: list[_Worker], pending: list[Job], busy: list[_Worker],
              healthy: list[_Worker], fresh: bool = False) -> None:
    """Send the worker the next file while it has room; file it as busy or idle.

    A worker that cannot be reached has died between two files (killed from outside): with a
    file still out, that file's result reports the death; idle, it is replaced at once.
    """
    if pending and len(worker.jobs) < QUEUE_DEPTH:
        global _submitted
        if worker.give(pending[-1]):
            pending.pop()
            with _lock:
                _submitted += 1
        elif fresh:
            raise DicomLoadError("the decoder process could not be reached")
        elif not worker.jobs:
            for group in (busy, healthy):
                if worker in group:
                    group.remove(worker)
            _replace(worker, workers, pending, busy, healthy)
            return
    if worker.jobs and worker not in busy:
        busy.append(worker)
    elif not worker.jobs and worker in busy:
        busy.remove(worker)
    if not worker.jobs and worker not in healthy:
        healthy.append(worker)


def _budget_s(nbytes: int) -> float:
    return TIME_BUDGET_S + TIME_BUDGET_S_PER_MB * nbytes / 1e6
