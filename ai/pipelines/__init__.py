"""Pipelines: the per-model pre- and post-processing around an ONNX model, and their registry.

A pipeline has two steps and no I/O of its own; :func:`ai.analysis.run_pipeline` runs the model
between them (batched, or in sliding windows) and hands over explanations on request::

    class Pipeline(Protocol):
        def prepare(self, image: ImageInput, package: ModelPackage) -> Prepared: ...
        def interpret(self, image: ImageInput, package: ModelPackage, prepared: Prepared,
                      outputs: ModelOutputs) -> PipelineResult: ...

* ``prepare`` turns the image (voxels ``[k, j, i]`` + spacing, see :class:`ai.image.ImageInput`) into
  model input: ``Prepared.inputs`` is a batch (N, C, *spatial) - or one volume (C, *spatial) with
  ``patch_size`` set for a sliding window - and ``context`` keeps whatever ``interpret`` needs to
  map results back (crop boxes, scale factors, candidate positions).
* ``interpret`` turns the outputs into :class:`~ai.findings.Finding` records and maps **on the
  image's grid** ``[k, j, i]``. ``outputs.explain(class_index, item)`` gives the explanation map of
  one input on the *model input* grid (the in-graph CAM, else occlusion; see :mod:`ai.explain`).

Which pipeline runs a package: ``model.json``'s ``pipeline`` field, else its ``target``, looked up
in the static table of :mod:`ai.pipelines.static_registry` (every pipeline module imported there by
name, so PyInstaller's analysis sees them all; no import by a computed name). A new pipeline adds
one line there. ``"classification"`` is a generic pipeline driven by ``model.json``'s input spec.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ai.explain import Explanation
from ai.findings import Finding
from ai.image import ImageInput
from ai.package import ModelPackage
from ai.region_map import ExplanationMap
from ai.runtime import WindowOutput


class PipelineMissing(LookupError):
    """No pipeline can run a package (none known under its name, or one lacks what is needed)."""


@dataclass
class Prepared:
    """Model input plus what ``interpret`` needs to map results back to the image."""

    inputs: np.ndarray
    context: dict[str, Any] = field(default_factory=dict)
    patch_size: tuple[int, ...] | None = None
    overlap: float = 0.25
    blend: str = "gaussian"

    @property
    def sliding(self) -> bool:
        return self.patch_size is not None


@dataclass
class ModelOutputs:
    """What the model returned for a :class:`Prepared` input.

    Batched runs: ``outputs[name]`` is (N, ...). Sliding-window runs: map outputs are blended to
    (C', *spatial) on the prepared volume's grid, other outputs are per window in ``windows``.
    ``explain(class_index, item=0)`` → :class:`~ai.explain.Explanation` on the model input grid.
    """

    outputs: dict[str, np.ndarray]
    explain: Callable[..., Explanation]
    windows: list[WindowOutput] = field(default_factory=list)
    provider: str = ""
    seconds: float = 0.0


@dataclass
class PipelineResult:
    """Findings and maps on the image grid ``[k, j, i]``, with image-level class probabilities.

    ``maps`` are float32 in [0, 1], keyed by a name the findings refer to (``Finding.explanation``):
    an array on the image grid, or a :class:`ai.region_map.RegionMap` for a finding's own region.
    ``notes`` are plain-words remarks for the user (e.g. what an explanation cost).
    """

    findings: list[Finding]
    maps: dict[str, ExplanationMap] = field(default_factory=dict)
    probabilities: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    provider: str = ""
    seconds: float = 0.0

    @property
    def label(self) -> str | None:
        """The most probable label (None without image-level probabilities)."""
        return max(self.probabilities, key=self.probabilities.__getitem__) if self.probabilities else None


@runtime_checkable
class Pipeline(Protocol):
    """Pre- and post-processing of one model family (see the module docstring)."""

    def prepare(self, image: ImageInput, package: ModelPackage) -> Prepared: ...

    def interpret(self, image: ImageInput, package: ModelPackage, prepared: Prepared,
                  outputs: ModelOutputs) -> PipelineResult: ...
