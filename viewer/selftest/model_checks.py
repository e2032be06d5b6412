"""Every shipped model, end to end through the analysis service, on a real bundled input.

The inputs are loaded the way the product loads them (DICOM folder, or a plain image declared a
radiograph / MR slice); the result is compared with ``expectations.json`` within its tolerance.
"""

from __future__ import annotations

from collections.abc import Callable

from ai.registry import ModelRegistry
from viewer.analysis import analyse, image_input, read_image_input
from viewer.analysis.service import ModelRun
from viewer.core.series_loader import load_series
from viewer.selftest.expectations import REGENERATE, Expectations, ModelCase, selftest_dir
from viewer.selftest.nodule_marked import contour_box
from viewer.selftest.report import Check, run_check


def model_checks(expected: Expectations, providers: set[str]) -> list[Check]:
    """One check per expected case, plus a failure for any shipped model without a case."""
    registry = ModelRegistry()
    checks = [run_check(f"model {case.model} on {case.path.name}",
                        _case_check(registry, case, expected.tolerance, providers))
              for case in expected.cases]
    covered = {case.model for case in expected.cases}
    for entry in registry.entries():
        if entry.source == "builtin" and entry.name not in covered:
            checks.append(Check(f"model {entry.name}", False,
                                f"no self-test input expects this model; run {REGENERATE}"))
    checks += [Check("model package", False, problem) for problem in registry.problems]
    return checks


def _case_check(registry: ModelRegistry, case: ModelCase, tolerance: float,
                providers: set[str]) -> Callable[[], str]:
    def check() -> str:
        run = run_case(registry, case)
        providers.add(run.provider)
        if case.marked_inside:
            detail = _check_marked(run, case, tolerance)
        elif case.probabilities:
            detail = _check_probabilities(run, case, tolerance)
        else:
            raise ValueError(f"the expectation for {case.model} names nothing to check")
        return f"{detail}; {run.provider.removesuffix('ExecutionProvider')} {run.seconds:.2f} s"
    return check


def run_case(registry: ModelRegistry, case: ModelCase) -> ModelRun:
    package = registry.load(case.model)  # verifies the checksum
    if package.sha256 != case.model_sha256:
        raise ValueError(f"the installed {case.model} {package.version} is not the model the expectations "
                         f"were recorded for; run {REGENERATE}")
    if case.modality:  # a plain image, declared a radiograph or an MR slice
        image = read_image_input(case.path, case.modality)
    else:
        image = image_input(load_series(case.path).volume)
    result = analyse(image, packages=[package])
    for run in result.runs:
        if run.name == case.model:
            return run
    reason = result.failed.get(case.model) or result.refused.get(case.model) or "it did not run"
    raise RuntimeError(f"{case.model}: {reason}")


def _check_marked(run: ModelRun, case: ModelCase, tolerance: float) -> str:
    box = contour_box((selftest_dir() / case.marked_inside).resolve())
    marked = [f for f in run.findings if f.marked and box.holds(f)]
    if not marked:
        raise ValueError(f"the sample's nodule is not marked ({len(run.findings)} findings, none "
                         f"marked inside the readers' contours)")
    best = max(marked, key=lambda f: f.score)
    if case.score is not None and abs(best.score - case.score) > tolerance:
        raise ValueError(f"nodule marked with score {best.score:.3f}, "
                         f"expected {case.score:.3f} ± {tolerance}")
    return f"nodule marked inside the readers' contours, score {best.score:.3f}"


def _check_probabilities(run: ModelRun, case: ModelCase, tolerance: float) -> str:
    off = {label: (run.probabilities.get(label, float("nan")), value)
           for label, value in case.probabilities.items()
           if not abs(run.probabilities.get(label, float("nan")) - value) <= tolerance}
    if off:
        label, (got, want) = next(iter(off.items()))
        raise ValueError(f"{label} probability {got:.3f}, expected {want:.3f} ± {tolerance}")
    top = max(run.probabilities, key=run.probabilities.__getitem__)
    if case.label and top != case.label:
        raise ValueError(f"most probable label '{top}', expected '{case.label}'")
    return f"{top} {run.probabilities[top]:.3f} (expected {case.probabilities.get(top, 0):.3f} ± {tolerance})"
