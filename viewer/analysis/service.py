"""``analyse(image, packages, progress, cancel) -> AnalysisResult``: every applicable model on one image.

Which models: ``packages`` when given (e.g. ``--model NAME``), else those of the registry that
:meth:`ai.registry.ModelRegistry.applicable` admits for the image, each checksum-verified before it
runs. Each runs through :func:`ai.analysis.run_pipeline`; one model's failure does not stop the
others. The result has the findings (series UID set, ``explanation`` renamed to a ``"<model>/<map>"``
key of ``maps`` so several models' maps live together), per-model runs (provider, seconds, notes,
probabilities), refusals (name → plain-words reason) and failures.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from ai.analysis import run_pipeline
from ai.findings import Finding
from ai.image import ImageInput
from ai.package import ModelPackage
from ai.pipelines import PipelineMissing, PipelineResult
from ai.region_map import ExplanationMap, full_map
from ai.registry import ModelError, ModelRegistry, split_by_scope, verify_checksum
from ai.runtime import Cancelled

#: ``progress(fraction 0..1 over all models, message)``
AnalysisProgress = Callable[[float, str], None]


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
    mark_rules: dict[str, str] = field(default_factory=dict)  # rule name → what it does, in words

    @property
    def device(self) -> str:
        """"CUDA" or "CPU" (from the onnxruntime provider name)."""
        return "CUDA" if "CUDA" in self.provider else "CPU" if "CPU" in self.provider else self.provider


@dataclass
class AnalysisResult:
    """Everything one analysis of one image produced (see the module docstring)."""

    series_instance_uid: str = ""
    study_instance_uid: str = ""
    runs: list[ModelRun] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    maps: dict[str, ExplanationMap] = field(default_factory=dict)
    cancelled: bool = False
    seconds: float = 0.0

    @property
    def findings(self) -> list[Finding]:
        """Every model's findings, best score first."""
        return sorted((f for run in self.runs for f in run.findings), key=lambda f: -f.score)

    def explanation(self, finding: Finding) -> ExplanationMap | None:
        """The finding's own explanation map (an array on the image grid ``[k, j, i]``, or a
        :class:`ai.region_map.RegionMap` covering its region); None without one."""
        return self.maps.get(finding.explanation or "")

    def explanation_array(self, finding: Finding) -> np.ndarray | None:
        """The finding's own explanation map as a full float32 array on the image grid."""
        heat = self.explanation(finding)
        return None if heat is None else full_map(heat)

    def status_text(self) -> str:
        """One line for the status bar: who ran where and how long; who did not and why."""
        parts = [f"{r.name} {r.version} on {r.device} in {r.seconds:.1f} s" for r in self.runs]
        parts += [f"{name} not run: {reason}" for name, reason in self.refused.items()]
        parts += [f"{name} failed: {reason}" for name, reason in self.failed.items()]
        head = "Analysis cancelled" if self.cancelled else "Analysis"
        marked = sum(f.marked for f in self.findings)
        hidden = sum(bool(f.passes_operating_point and f.hidden_by) for f in self.findings)
        found = f"{len(self.findings)} finding(s), {marked} marked (score ≥ operating point)"
        if hidden:
            rules = ", ".join(sorted({f.hidden_by for f in self.findings if f.hidden_by}))
            found += f", {hidden} more at or above it not marked by rule {rules}"
        return f"{head}: {found}. " + "; ".join(parts) if parts else f"{head}: no model installed"


def _plain(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def _registry_candidates(image: ImageInput, registry: ModelRegistry,
                         result: AnalysisResult) -> list[ModelPackage]:
    """The registry's applicable packages whose checksum verifies; refusals into ``result``."""
    accepted, result.refused = registry.applicable(image.facts())
    for number, problem in enumerate(registry.problems, 1):
        result.refused[f"unreadable package {number}"] = problem
    verified = []
    for package in accepted:
        try:
            verify_checksum(package)
        except ModelError as exc:
            result.refused[package.name] = str(exc)
        else:
            verified.append(package)
    return verified


def applicable_packages(image: ImageInput, packages: Sequence[ModelPackage] | None,
                        registry: ModelRegistry | None, result: AnalysisResult) -> list[ModelPackage]:
    """What will run on ``image``; the others go to ``result.refused`` with the reason."""
    if packages is not None:
        accepted, result.refused = split_by_scope(list(packages), image.facts())
        return accepted
    return _registry_candidates(image, registry or ModelRegistry(), result)


def analyse(image: ImageInput, packages: Sequence[ModelPackage] | None = None,
            progress: AnalysisProgress | None = None, cancel: threading.Event | None = None, *,
            registry: ModelRegistry | None = None, series_instance_uid: str = "",
            study_instance_uid: str = "") -> AnalysisResult:
    """Run every applicable model on ``image`` in the calling thread (see the module docstring).

    A set ``cancel`` stops before the next model (a running one stops at its next batch/window);
    ``result.cancelled`` says so and the models that completed are kept.
    """
    start = time.perf_counter()
    result = AnalysisResult(series_instance_uid, study_instance_uid)
    todo = applicable_packages(image, packages, registry, result)
    for number, package in enumerate(todo):
        if cancel is not None and cancel.is_set():
            result.cancelled = True
            break
        _run_one(result, image, package, _model_progress(progress, package, number, len(todo)), cancel)
    if progress is not None and not result.cancelled:
        progress(1.0, "Analysis done")
    result.seconds = time.perf_counter() - start
    return result


def _model_progress(progress: AnalysisProgress | None, package: ModelPackage, number: int,
                    total: int) -> Callable[[int, int], None]:
    title = f"Running {package.name} ({number + 1}/{total})"
    if progress is not None:
        progress(number / total, title)

    def step(done: int, steps: int) -> None:
        if progress is not None:
            progress((number + (done / steps if steps else 1.0)) / total, title)

    return step


def _run_one(result: AnalysisResult, image: ImageInput, package: ModelPackage,
             progress: Callable[[int, int], None], cancel: threading.Event | None) -> None:
    try:
        output = run_pipeline(package, image, progress=progress, cancel=cancel, check_scope=False)
    except Cancelled:
        result.cancelled = True
        return
    except PipelineMissing as exc:
        result.refused[package.name] = str(exc)
        return
    except Exception as exc:  # noqa: BLE001 - one model's failure must not stop the others
        result.failed[package.name] = _plain(exc)
        return
    result.runs.append(_model_run(result, package, output))


def _model_run(result: AnalysisResult, package: ModelPackage, output: PipelineResult) -> ModelRun:
    run = ModelRun(package.name, package.version, output.provider, output.seconds,
                   notes=list(output.notes), probabilities=dict(output.probabilities),
                   mark_rules={rule.name: rule.description for rule in package.mark_rules})
    for key, heat in output.maps.items():
        result.maps[f"{package.name}/{key}"] = heat
    for finding in output.findings:
        key = f"{package.name}/{finding.explanation}" if finding.explanation else None
        run.findings.append(replace(finding, explanation=key if key in result.maps else None,
                                    series_instance_uid=result.series_instance_uid))
    return run
