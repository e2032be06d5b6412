"""A package run end to end on an image: scope, generic pipeline, explanations, findings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tiny_models import BLOB, blob_image, install_blob_package, to_uint8

from ai.analysis import run_pipeline
from ai.image import ImageInput
from ai.pipelines import PipelineMissing
from ai.pipelines.classification import ClassificationPipeline
from ai.pipelines.static_registry import get_pipeline
from ai.registry import OutOfScope


def _radiograph(at: tuple[int, int] = (20, 8), blob: bool = True) -> ImageInput:
    """A 64 x 64 'radiograph' (the 32 x 32 blob image upsampled 2x): blob at rows/columns 2*at."""
    image = blob_image(np.random.default_rng(11), blob, at=at)[0]
    return ImageInput(to_uint8(np.kron(image, np.ones((2, 2))))[None].astype(np.float32),
                      modality="DX", has_geometry=False)


@pytest.mark.parametrize("with_cam", [True, False])
def test_finds_and_locates_the_blob(tmp_path: Path, with_cam: bool) -> None:
    package = install_blob_package(tmp_path, with_cam=with_cam)
    assert isinstance(get_pipeline(package), ClassificationPipeline)
    result = run_pipeline(package, _radiograph(at=(20, 8)))
    assert result.label == "blob" and result.provider and result.seconds > 0
    [finding] = result.findings
    assert finding.label == "blob" and finding.passes_operating_point and finding.score > 0.5
    assert finding.explanation_method == ("cam_output" if with_cam else "occlusion-captum")
    heat = result.maps["blob"]
    assert heat.shape == (1, 64, 64) and 0.0 <= heat.min() and heat.max() == pytest.approx(1.0)
    k0, j0, i0, k1, j1, i1 = finding.box_kji
    _, cj, ci = finding.center_kji
    # the blob covers rows 40-55 and columns 16-31 of the 64 x 64 image
    assert 40 - 4 <= cj <= 40 + 2 * BLOB + 4 and 16 - 4 <= ci <= 16 + 2 * BLOB + 4
    assert (k0, k1) == (0.0, 1.0) and finding.center_mm is None  # no geometry: pixels only
    assert bool(result.notes) == (not with_cam)  # occlusion reports its cost


def test_no_blob_gives_a_finding_that_does_not_pass(tmp_path: Path) -> None:
    package = install_blob_package(tmp_path)
    result = run_pipeline(package, _radiograph(blob=False))
    [finding] = result.findings
    assert finding.score < 0.5 and not finding.passes_operating_point


def test_out_of_scope_and_unknown_pipeline_refuse(tmp_path: Path) -> None:
    package = install_blob_package(tmp_path)
    ct = ImageInput(np.zeros((4, 8, 8), np.float32), spacing=(1.0, 0.7, 0.7), modality="CT")
    with pytest.raises(OutOfScope, match="model 'tiny-blob' is for DX/CR images; this one is CT"):
        run_pipeline(package, ct)
    from dataclasses import replace

    with pytest.raises(PipelineMissing, match="needs the pipeline 'warp-drive'"):
        get_pipeline(replace(package, pipeline="warp-drive"))
