"""Network and database work off the UI thread: a job in a Python thread, reporting by Qt signals.

``job(progress, cancel)`` runs in its own thread; ``progress(done, total)`` and the result or a
one-line failure come back as signals, delivered in the UI thread. :meth:`BackgroundTask.join`
waits for the thread (every owner joins its tasks when it closes).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

Job = Callable[[Callable[[int, int], None], threading.Event], Any]


def one_line(exc: BaseException) -> str:
    """A failure as one sentence (no traceback)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text if type(exc).__name__ in ("NodeError", "PeerError", "StudyDBError") else (
        f"{type(exc).__name__}: {text}")


class BackgroundTask(QObject):
    progress = Signal(int, int)
    succeeded = Signal(object)
    failed = Signal(str)

    def __init__(self, job: Job, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._job = job
        self.cancel_event = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="radsight-task", daemon=True)
        self._thread.start()

    def cancel(self) -> None:
        self.cancel_event.set()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the job to end; True when it has."""
        if self._thread is not None:
            self._thread.join(timeout)
        return not self.running

    def _run(self) -> None:
        try:
            result = self._job(self.progress.emit, self.cancel_event)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a message
            self.failed.emit(one_line(exc))
            return
        self.succeeded.emit(result)
