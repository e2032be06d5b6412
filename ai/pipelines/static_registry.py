"""The pipelines RadSight ships, imported explicitly by name (no import by a computed name).

PyInstaller follows these import statements, so every pipeline listed here is in the bundle; a
pipeline that is not listed does not exist for the product. A new model family adds its module
import and one entry in :data:`PIPELINES`. :func:`register_pipeline` adds one at run time (tests,
a developer's experiment); it never imports anything.
"""

from __future__ import annotations

from ai.package import ModelPackage
from ai.pipelines import Pipeline, PipelineMissing
from ai.pipelines import classification as _classification
from ai.pipelines import fracture as _fracture
from ai.pipelines import nodule as _nodule
from ai.pipelines import tumour as _tumour

PIPELINES: dict[str, Pipeline] = {
    "classification": _classification.PIPELINE,
    "fracture": _fracture.PIPELINE,
    "nodule": _nodule.PIPELINE,
    "tumour": _tumour.PIPELINE,
}


def register_pipeline(name: str, pipeline: Pipeline) -> None:
    """Make ``pipeline`` the one for packages whose pipeline (or target) is ``name``."""
    if not isinstance(pipeline, Pipeline):
        raise TypeError(f"{type(pipeline).__name__} has no prepare/interpret methods")
    PIPELINES[name] = pipeline


def pipeline_name(package: ModelPackage) -> str:
    """``model.json``'s ``pipeline`` field, else its ``target``."""
    return package.pipeline or package.target


def get_pipeline(package: ModelPackage) -> Pipeline:
    """The pipeline for ``package`` (raises :class:`PipelineMissing` with the reason)."""
    name = pipeline_name(package)
    pipeline = PIPELINES.get(name)
    if pipeline is None:
        known = ", ".join(sorted(PIPELINES))
        raise PipelineMissing(f"model '{package.name}' needs the pipeline '{name}', which this RadSight "
                              f"does not have (it has: {known})")
    return pipeline
