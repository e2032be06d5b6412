"""Generic image classification pipeline, driven by ``model.json`` alone (``"pipeline": "classification"``).

prepare: the whole image (a 2D image for ``NCHW``, the volume for ``NCDHW``) → window/normalise
(:func:`ai.preprocess.prepare_intensities`) → linear resize to ``input.size`` (aspect not kept).
interpret: softmax (sigmoid for one output) → one finding per label that has an operating point
(the most probable label when none has), located at the explanation map's peak with the box
around the map's values ≥ 0.5; the maps come back resized to the image grid.
"""

from __future__ import annotations

import numpy as np

from ai.explain import ExplainUnavailable
from ai.findings import Finding, located
from ai.image import ImageInput
from ai.package import ModelPackage
from ai.pipelines import ModelOutputs, PipelineResult, Prepared
from ai.preprocess import prepare_intensities
from ai.resample import normalise01, resize_linear
from ai.scores import class_probabilities

MAP_LEVEL = 0.5  # the box is drawn around the explanation map's values >= this


def map_box(heat: np.ndarray, level: float = MAP_LEVEL) -> tuple[float, ...]:
    """Bounding box ``(k0, j0, i0, k1, j1, i1)`` of the map's values >= ``level`` (k, j, i map)."""
    where = np.argwhere(heat >= level * float(heat.max())) if heat.max() > 0 else np.argwhere(heat == heat)
    lo, hi = where.min(axis=0), where.max(axis=0) + 1
    return tuple(float(v) for v in (*lo, *hi))


class ClassificationPipeline:
    """See the module docstring."""

    def prepare(self, image: ImageInput, package: ModelPackage) -> Prepared:
        spec = package.input
        if spec.size is None:
            raise ValueError(f"model '{package.name}': the classification pipeline needs input.size")
        voxels = image.voxels[0] if spec.spatial_dims == 2 else image.voxels
        invert = image.photometric_interpretation == "MONOCHROME1"
        x = resize_linear(prepare_intensities(voxels, spec, invert=invert), spec.size)
        return Prepared(x[None].astype(np.float32), {"shape": voxels.shape})

    def interpret(self, image: ImageInput, package: ModelPackage, prepared: Prepared,
                  outputs: ModelOutputs) -> PipelineResult:
        logits = outputs.outputs.get("logits", next(iter(outputs.outputs.values())))
        probs = class_probabilities(logits[0])
        probabilities = {label: float(p) for label, p in zip(package.labels, probs, strict=False)}
        result = PipelineResult([], probabilities=probabilities)
        for index in self._reported(package, probs):
            result.findings.append(self._finding(image, package, outputs, result, index, float(probs[index])))
        return result

    @staticmethod
    def _reported(package: ModelPackage, probs: np.ndarray) -> list[int]:
        with_points = [i for i, label in enumerate(package.labels) if package.operating_point(label)]
        return with_points or [int(probs.argmax())]

    @staticmethod
    def _finding(image: ImageInput, package: ModelPackage, outputs: ModelOutputs, result: PipelineResult,
                 index: int, score: float) -> Finding:
        label = package.labels[index]
        point = package.operating_point(label)
        passes = point is None or score >= point.threshold
        finding = Finding(package.name, package.version, label, score, passes,
                          threshold=None if point is None else point.threshold)
        if not passes and package.explanation == "occlusion":
            return finding  # occlusion costs model runs: only for findings that pass
        try:
            explanation = outputs.explain(index)
        except ExplainUnavailable as exc:
            result.notes.append(str(exc))
            return finding
        heat = resize_linear(explanation.map, image.shape[1:] if image.is_2d else image.shape)
        heat = normalise01(heat.reshape(image.shape))
        result.maps[label] = heat
        if explanation.method.startswith("occlusion"):
            result.notes.append(f"{label}: {explanation.method} map, {explanation.evaluations} model runs "
                                f"in {explanation.seconds:.2f} s")
        finding = Finding(package.name, package.version, label, score, passes, finding.threshold,
                          explanation=label, explanation_method=explanation.method)
        return located(finding, image, map_box(heat))


PIPELINE = ClassificationPipeline()
