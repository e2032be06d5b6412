"""Shared-memory slots through which a decoder worker hands back decoded pixels.

A decoded 512² CT slice is 0.5 MB: pickled through a pipe it is copied four times and crosses
the 64 kB pipe buffer in pieces, each a wake-up of this process and of the worker. Instead, the
app creates a few slots per worker (`multiprocessing.shared_memory`), the worker copies its
result into the slot named in the job and sends only (shape, dtype). Results larger than a
slot, errors, and workers whose slots could not be created use the pipe as before.

The app owns the slots (creates and unlinks them); the worker only attaches. A slot is reused
only after the app has taken its result out: with `QUEUE_DEPTH` jobs per worker, one slot more
than that is enough, since the app answers a result (and sends a new job) before it yields it
and reads each result before the next.
"""

from __future__ import annotations

import contextlib
from multiprocessing import shared_memory

import numpy as np

#: Bytes per slot: a 2048² 16-bit image fits; larger results come through the pipe.
SLOT_BYTES = 8 * 1024**2


class ResultSlots:
    """The app's side: slots created for one worker, unlinked when it stops."""

    def __init__(self, count: int) -> None:
        self._shms: list[shared_memory.SharedMemory] = []
        try:
            for _ in range(count):
                self._shms.append(shared_memory.SharedMemory(create=True, size=SLOT_BYTES))
        except OSError:  # no /dev/shm, or full: results come through the pipe
            self.release()

    @property
    def names(self) -> list[str]:
        return [shm.name for shm in self._shms]

    def __len__(self) -> int:
        return len(self._shms)

    def view(self, slot: int, shape: tuple[int, ...], dtype: str) -> np.ndarray:
        """The result in ``slot``: valid until the worker is given that slot again."""
        return np.ndarray(shape, dtype=np.dtype(dtype), buffer=self._shms[slot].buf)

    def release(self) -> None:
        for shm in self._shms:
            with contextlib.suppress(BufferError):  # a view still alive: closed when collected
                shm.close()
            with contextlib.suppress(FileNotFoundError):
                shm.unlink()
        self._shms = []


class WorkerSlots:
    """The worker's side: the app's slots, attached by name."""

    def __init__(self, names: list[str]) -> None:
        # Attaching registers the block with the resource tracker this worker shares with the
        # app (forkserver children do): a set, so the app's unlink unregisters it once for all.
        try:
            self._shms = [shared_memory.SharedMemory(name=name) for name in names]
        except (OSError, ValueError):  # gone or unreadable: results go through the pipe
            self._shms = []

    def put(self, slot: int | None, pixels: np.ndarray) -> tuple[tuple[int, ...], str] | None:
        """Copy ``pixels`` into ``slot``; (shape, dtype) to send, or None if it does not fit."""
        if slot is None or not 0 <= slot < len(self._shms) or pixels.nbytes > SLOT_BYTES:
            return None
        target = np.ndarray(pixels.shape, dtype=pixels.dtype, buffer=self._shms[slot].buf)
        target[...] = pixels
        return pixels.shape, pixels.dtype.str
