"""Analyze: every applicable model on the open `Volume`, off the UI thread, with progress and cancel.

`AnalysisWorker` (a QObject for a QThread; start it with ``viewer.ui.workers.start_worker``)
loads the installed models (checksums verified), gates each by scope with the reason in plain
words, runs the others through :func:`ai.analysis.run_pipeline` on the volume's
:func:`viewer.commands.analyze.image_of`, and reports:

* ``progress(int percent, str message)`` while it runs (all models together, 0-100);
* ``finished(AnalysisSummary)`` at the end - also after a cancel (``summary.cancelled``; the
  models that completed are kept);
* ``failed(str)`` only when no model could even be looked at (e.g. no models installed).

``AnalysisSummary`` has the findings (with the series UID set and ``explanation`` renamed to a
``"<model>/<map>"`` key of ``summary.maps``, so several models' maps can live together), per
model runs (name, version, provider, seconds, notes), the refusals (``refused``: name → reason,
e.g. scope) and failures, and :meth:`AnalysisSummary.status_text` for the status bar.
:func:`record_summary` stores it in the feedback database.

Connect the signals to slots of QObjects living in the GUI thread (e.g. the main window's
methods) so that they arrive queued; a plain lambda runs in the worker thread.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from PySide6.QtCore import QObject, Signal

from ai.analysis import run_pipeline
from ai.findings import Finding
from ai.package import ModelPackage
from ai.pipelines import PipelineMissing
from ai.registry import ModelError, ModelRegistry, check_scope
from ai.runtime import Cancelled
from viewer.commands.analyze import image_of
from viewer.core.feedback_db import FeedbackDB
from viewer.core.volume import Volume

_STEPS = 1000  # progress resolution per model


@dataclass
class ModelRun:
    """One model that ran: what, where, how long, and what it found."""

    name: str
    version: str
    provider: str
    seconds: float
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    probabilities: dict[str, float] = field(default_factory=dict)

    @property
    def device(self) -> str:
        """"CUDA" or "CPU" (from the onnxruntime provider name)."""
        return "CUDA" if "CUDA" in self.provider else "CPU" if "CPU" in self.provider else self.provider


@dataclass
class AnalysisSummary:
    """Everything one Analyze produced (see the module docstring)."""

    series_instance_uid: str = ""
    study_instance_uid: str = ""
    runs: list[ModelRun] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    maps: dict[str, np.ndarray] = field(default_factory=dict)
    cancelled: bool = False
    seconds: float = 0.0

    @property
    def findings(self) -> list[Finding]:
        """Every model's findings, best score first."""
        return sorted((f for run in self.runs for f in run.findings), key=lambda f: -f.score)

    def status_text(self) -> str:
        """One line for the status bar: who ran where and how long; who did not and why."""
        parts = [f"{r.name} {r.version} on {r.device} in {r.seconds:.1f} s" for r in self.runs]
        parts += [f"{name} not run: {reason}" for name, reason in self.refused.items()]
        parts += [f"{name} failed: {reason}" for name, reason in self.failed.items()]
        head = "Analysis cancelled" if self.cancelled else "Analysis"
        passing = sum(f.passes_operating_point for f in self.findings)
        found = f"{len(self.findings)} finding(s), {passing} above operating point"
        return f"{head}: {found}. " + "; ".join(parts) if parts else f"{head}: no model installed"


def load_packages(registry: ModelRegistry) -> tuple[list[ModelPackage], dict[str, str]]:
    """Every installed package whose checksum verifies; the others with the reason."""
    packages: list[ModelPackage] = []
    refused: dict[str, str] = {}
    for entry in registry.entries():
        try:
            packages.append(registry.load(entry.name))
        except ModelError as exc:
            refused[entry.name] = str(exc)
    for number, problem in enumerate(registry.problems, 1):
        refused[f"unreadable package {number}"] = problem
    return packages, refused


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
        start = time.perf_counter()
        try:
            summary = self.analyse()
        except Exception as exc:  # noqa: BLE001 - every failure becomes a message
            self.failed.emit(f"Analysis could not start: {_plain(exc)}")
            return
        summary.seconds = time.perf_counter() - start
        self.finished.emit(summary)

    def analyse(self) -> AnalysisSummary:
        """The work of :meth:`run`, in the calling thread (returns the summary)."""
        summary = AnalysisSummary(self.volume.series_instance_uid, self.volume.study_instance_uid)
        packages = self.packages
        if packages is None:
            packages, summary.refused = load_packages(self.registry or ModelRegistry())
        image = image_of(self.volume, self.body_part)
        facts = image.facts()
        todo = []
        for package in packages:
            reason = check_scope(package, facts.modality, facts.is_2d, facts.spacing, facts.body_part)
            if reason:
                summary.refused[package.name] = reason
            else:
                todo.append(package)
        for number, package in enumerate(todo):
            if self._cancel.is_set():
                summary.cancelled = True
                break
            self._run_one(summary, package, image, number, len(todo))
        if not summary.cancelled:
            self.progress.emit(100, "Analysis done")
        return summary

    def _run_one(self, summary: AnalysisSummary, package: ModelPackage, image: object, number: int,
                 total: int) -> None:
        title = f"{package.name} ({number + 1}/{total})"
        self.progress.emit(int(100 * number / total), f"Running {title}")

        def progress(done: int, steps: int) -> None:
            fraction = (number + (done / steps if steps else 1.0)) / total
            self.progress.emit(int(100 * fraction), f"Running {title}")

        try:
            result = run_pipeline(package, image, progress=progress, cancel=self._cancel, check_scope=False)
        except Cancelled:
            summary.cancelled = True
            return
        except PipelineMissing as exc:
            summary.refused[package.name] = str(exc)
            return
        except Exception as exc:  # noqa: BLE001 - one model's failure must not stop the others
            summary.failed[package.name] = _plain(exc)
            return
        summary.runs.append(self._model_run(summary, package, result))

    def _model_run(self, summary: AnalysisSummary, package: ModelPackage, result: object) -> ModelRun:
        run = ModelRun(package.name, package.version, result.provider, result.seconds,
                       notes=list(result.notes), probabilities=dict(result.probabilities))
        for key, heat in result.maps.items():
            summary.maps[f"{package.name}/{key}"] = heat
        for finding in result.findings:
            key = f"{package.name}/{finding.explanation}" if finding.explanation else None
            run.findings.append(replace(finding, explanation=key if key in summary.maps else None,
                                        series_instance_uid=self.volume.series_instance_uid))
        return run


def record_summary(db: FeedbackDB, summary: AnalysisSummary, volume: Volume) -> list[int]:
    """Store each completed model run (and its findings) in the feedback database; analysis ids."""
    return [db.record_analysis(volume.study_instance_uid, volume.series_instance_uid, run.name,
                               run.version, [f.to_dict() for f in run.findings], provider=run.provider,
                               seconds=run.seconds, sop_instance_uids=volume.sop_instance_uids)
            for run in summary.runs]
