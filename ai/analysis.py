"""Run one model package on one image: scope check → pipeline.prepare → onnxruntime → interpret.

:func:`run_pipeline` is the single entry point the command line, the viewer and validation use.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from ai.explain import ExplainUnavailable, Explanation, cam_map, occlusion_map
from ai.findings import Finding
from ai.image import ImageInput
from ai.package import ModelPackage
from ai.pipelines import ModelOutputs, Pipeline, PipelineResult, Prepared
from ai.pipelines.static_registry import get_pipeline
from ai.region_map import map_peak_kji
from ai.registry import require_scope
from ai.resample import normalise01
from ai.runtime import ModelSession, Progress, get_session, run_batched, sliding_window

DEFAULT_MAX_EVALS = 256


def _explainer(package: ModelPackage, session: ModelSession, prepared: Prepared,
               outputs: dict[str, np.ndarray], max_evals: int) -> Callable[..., Explanation]:
    """``explain(class_index, item=0)`` for this run: the CAM output when there is one, else occlusion."""
    spatial = prepared.inputs.shape[1:] if prepared.sliding else prepared.inputs.shape[2:]

    def explain(class_index: int, item: int = 0) -> Explanation:
        cam = outputs.get("cam")
        if cam is not None and prepared.sliding:
            return Explanation(normalise01(np.maximum(cam[class_index], 0)), "cam_output", class_index, 0)
        if cam is not None:
            return Explanation(cam_map(cam, class_index, spatial, item), "cam_output", class_index, 0)
        if prepared.sliding or package.explanation == "none":
            raise ExplainUnavailable(f"model '{package.name}' has no explanation output for this input")
        return occlusion_map(session, prepared.inputs[item], class_index, output_name=session.output_names[0],
                             max_evals=max_evals)

    return explain


def with_explanation_peak(finding: Finding, result: PipelineResult, image: ImageInput) -> Finding:
    """``finding`` with the position of its own map's maximum: voxel index ``(k, j, i)``, and
    ``explanation_peak_mm`` = LPS (x, y, z) mm, or for an image without geometry its pixel position
    (column, row, slice), the same order and the image's own unit."""
    heat = result.maps.get(finding.explanation or "")
    peak = None if heat is None else map_peak_kji(heat)
    if peak is None:
        return finding
    mm = image.index_to_patient(peak)
    world = (peak[2], peak[1], peak[0]) if mm is None else tuple(float(v) for v in mm)
    return replace(finding, explanation_peak_kji=peak, explanation_peak_mm=world)


def run_model(package: ModelPackage, session: ModelSession, prepared: Prepared,
              progress: Progress | None = None, cancel: threading.Event | None = None,
              max_evals: int = DEFAULT_MAX_EVALS) -> ModelOutputs:
    """Run the session on ``prepared`` (batched, or a sliding window when it has a patch size)."""
    if prepared.sliding:
        sw = sliding_window(session, prepared.inputs, prepared.patch_size, prepared.overlap, prepared.blend,
                            progress=progress, cancel=cancel)
        outputs, windows, seconds = sw.maps, sw.windows, sw.seconds
    elif len(prepared.inputs):
        run = run_batched(session, prepared.inputs, progress=progress, cancel=cancel)
        outputs, windows, seconds = run.outputs, [], run.seconds
    else:
        outputs, windows, seconds = {}, [], 0.0
    explain = _explainer(package, session, prepared, outputs, max_evals)
    return ModelOutputs(outputs, explain, windows, session.provider, seconds)


def run_pipeline(
    package: ModelPackage,
    image: ImageInput,
    pipeline: Pipeline | None = None,
    session: ModelSession | None = None,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    max_evals: int = DEFAULT_MAX_EVALS,
    check_scope: bool = True,
) -> PipelineResult:
    """Findings and maps of ``package`` on ``image``.

    Raises :class:`ai.registry.OutOfScope` (with the reason) when the image is outside the model's
    scope, :class:`ai.pipelines.PipelineMissing` when no pipeline is known for it, and
    :class:`ai.runtime.Cancelled` when ``cancel`` is set. ``result.provider`` names the
    onnxruntime provider that ran and ``result.seconds`` the whole time taken.
    """
    start = time.perf_counter()
    if check_scope:
        require_scope(package, image.facts())
    pipeline = pipeline or get_pipeline(package)
    session = session or get_session(package.onnx_path)
    prepared = pipeline.prepare(image, package)
    outputs = run_model(package, session, prepared, progress, cancel, max_evals)
    result = pipeline.interpret(image, package, prepared, outputs)
    result.findings = [with_explanation_peak(f, result, image) for f in result.findings]
    result.provider = session.provider
    result.seconds = time.perf_counter() - start
    return result
