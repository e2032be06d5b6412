"""Analyze: every applicable model on the open `Volume`, off the UI thread, with progress and cancel.

`AnalysisWorker` (a QObject for a QThread; start it with ``viewer.ui.workers.start_worker``) is a thin
Qt adapter over :func:`viewer.analysis.analyse` (the same service ``radsight analyze`` uses) on the
volume's :func:`viewer.analysis.image_input`. It reports:

* ``progress(int percent, str message)`` while it runs (all models together, 0-100);
* ``finished(AnalysisSummary)`` at the end - also after a cancel (``summary.cancelled``; the
  models that completed are kept);
* ``failed(str)`` only when the analysis could not even start.

``AnalysisSummary`` is :class:`viewer.analysis.AnalysisResult`. :func:`record_summary` stores it in
the feedback database.

Connect the signals to slots of QObjects living in the GUI thread (e.g. the main window's
methods) so that they arrive queued; a plain lambda runs in the worker thread.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from PySide6.QtCore import QObject, Signal

from ai.package import ModelPackage
from ai.registry import ModelRegistry
from viewer.analysis import AnalysisResult, ModelRun, analyse, image_input
from viewer.core.feedback_db import FeedbackDB
from viewer.core.volume import Volume

AnalysisSummary = AnalysisResult
__all__ = ["AnalysisSummary", "AnalysisWorker", "ModelRun", "record_summary"]


def _plain(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


class AnalysisWorker(QObject):
    """Runs every applicable model on one volume; see the module docstring for the signals."""

    progress = Signal(int, str)
    finished = Signal(object)  # AnalysisSummary
    failed = Signal(str)

    def __init__(self, volume: Volume, body_part: str | None = None, registry: ModelRegistry | None = None,
                 packages: Sequence[ModelPackage] | None = None) -> None:
        super().__init__()
        self.volume = volume
        self.body_part = body_part
        self.registry = registry
        self.packages = list(packages) if packages is not None else None
        self._cancel = threading.Event()

    def cancel(self) -> None:
        """Stop after the current model step (running models stop at their next window/batch)."""
        self._cancel.set()

    @property
    def is_cancelled(self) -> bool:
        return self._cancel.is_set()

    def run(self) -> None:
        try:
            summary = self.analyse()
        except Exception as exc:  # noqa: BLE001 - every failure becomes a message
            self.failed.emit(f"Analysis could not start: {_plain(exc)}")
            return
        self.finished.emit(summary)

    def analyse(self) -> AnalysisSummary:
        """The work of :meth:`run`, in the calling thread (returns the summary)."""
        return analyse(image_input(self.volume, self.body_part), self.packages, self._progress, self._cancel,
                       registry=self.registry, series_instance_uid=self.volume.series_instance_uid,
                       study_instance_uid=self.volume.study_instance_uid)

    def _progress(self, fraction: float, message: str) -> None:
        self.progress.emit(int(100 * fraction), message)


def record_summary(db: FeedbackDB, summary: AnalysisSummary, volume: Volume) -> list[int]:
    """Store each completed model run (and its findings) in the feedback database; analysis ids."""
    return [db.record_analysis(volume.study_instance_uid, volume.series_instance_uid, run.name,
                               run.version, [f.to_dict() for f in run.findings], provider=run.provider,
                               seconds=run.seconds, sop_instance_uids=volume.sop_instance_uids)
            for run in summary.runs]
