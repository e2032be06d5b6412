"""Explanation maps: in-graph CAM against captum's LayerGradCam, and the occlusion fallback."""

from __future__ import annotations

import numpy as np
import pytest
from tiny_models import BLOB, SIZE, blob_classifier, blob_image

from ai.explain import cam_map, occlusion_map, occlusion_plan, shift_counts
from ai.explain_export import cam_model, linear_of
from ai.resample import normalise01, resize_linear
from ai.runtime import get_session


def _images() -> np.ndarray:
    rng = np.random.default_rng(7)
    return np.stack([blob_image(rng, True, at=(4, 20)), blob_image(rng, True, at=(22, 6)),
                     blob_image(rng, False)])


def test_resize_linear_matches_torch_interpolate() -> None:
    import torch

    array = np.random.default_rng(0).normal(size=(2, 3, 5, 7, 4))
    for shape, mode in (((11, 3, 9), "trilinear"), ((2, 20, 4), "trilinear")):
        theirs = torch.nn.functional.interpolate(torch.from_numpy(array), size=shape, mode=mode,
                                                 align_corners=False).numpy()
        np.testing.assert_allclose(resize_linear(array, shape), theirs, atol=1e-12)


def test_the_classifier_learned_the_toy_task() -> None:
    logits = get_session(blob_classifier().cam_onnx).run(_images()).outputs["logits"]
    assert logits.argmax(axis=1).tolist() == [1, 1, 0]


def test_in_graph_cam_equals_captum_layer_gradcam() -> None:
    import torch
    from captum.attr import LayerAttribution, LayerGradCam

    tiny = blob_classifier()
    images = _images()
    cam = get_session(tiny.cam_onnx).run(images).outputs["cam"]
    assert cam.shape == (3, 2, SIZE // 2, SIZE // 2)
    gradcam = LayerGradCam(cam_model(tiny.backbone, tiny.head, with_cam=False), tiny.backbone)
    for item in range(len(images)):
        for target in (0, 1):
            attribution = gradcam.attribute(torch.from_numpy(images[item:item + 1]), target=target,
                                            relu_attributions=True)
            upsampled = LayerAttribution.interpolate(attribution, (SIZE, SIZE), interpolate_mode="bilinear")
            theirs = normalise01(upsampled[0, 0].detach().numpy())
            ours = cam_map(cam, target, (SIZE, SIZE), item=item)
            assert ours.shape == (SIZE, SIZE) and ours.min() == 0.0
            np.testing.assert_allclose(ours, theirs, atol=1e-3)
    peak = np.unravel_index(cam_map(cam, 1, (SIZE, SIZE), item=0).argmax(), (SIZE, SIZE))
    assert 4 - 2 <= peak[0] < 4 + BLOB + 2 and 20 - 2 <= peak[1] < 20 + BLOB + 2


def test_export_refuses_a_head_that_is_not_linear() -> None:
    from torch import nn

    with pytest.raises(TypeError, match="one nn.Linear"):
        linear_of(nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2)))


def test_occlusion_plan_respects_the_budget() -> None:
    for shape, budget in (((224, 224), 256), ((64, 64, 64), 128), ((32, 32), 50)):
        window, stride = occlusion_plan(shape, budget)
        assert np.prod(shift_counts(shape, window, stride)) + 1 <= budget
        assert all(t <= w for t, w in zip(stride, window, strict=True))


@pytest.mark.parametrize("engine", ["captum", "numpy"])
def test_occlusion_peak_falls_on_the_blob_of_a_model_without_cam(engine: str) -> None:
    session = get_session(blob_classifier().plain_onnx)
    assert "cam" not in session.output_names
    image = _images()[0]  # blob at rows 4..11, columns 20..27
    result = occlusion_map(session, image, class_index=1, output_name="logits", max_evals=120,
                           engine=engine)
    assert result.map.shape == (SIZE, SIZE) and result.method == f"occlusion-{engine}"
    assert result.evaluations <= 120 and result.seconds > 0
    j, i = np.unravel_index(result.map.argmax(), result.map.shape)
    assert 4 <= j < 4 + BLOB and 20 <= i < 20 + BLOB
    assert result.map[4:12, 20:28].mean() > 3 * result.map[20:, :12].mean()


def test_numpy_occlusion_equals_captum_occlusion() -> None:
    session = get_session(blob_classifier().plain_onnx)
    image = _images()[1]
    a = occlusion_map(session, image, 1, window=(6, 6), stride=(4, 4), max_evals=100, engine="captum")
    b = occlusion_map(session, image, 1, window=(6, 6), stride=(4, 4), max_evals=100, engine="numpy")
    assert a.evaluations == b.evaluations == 8 * 8 + 1
    np.testing.assert_allclose(a.map, b.map, atol=1e-5)


def test_occlusion_refuses_a_window_over_budget() -> None:
    session = get_session(blob_classifier().plain_onnx)
    with pytest.raises(ValueError, match="needs 226 evaluations, more than max_evals=64"):
        occlusion_map(session, _images()[0], 1, window=(4, 4), stride=(2, 2), max_evals=64)
