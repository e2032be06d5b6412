"""onnxruntime sessions on real exported models: providers, cache, batching, sliding window,
progress and cancellation."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from tiny_models import (
    blob_classifier,
    blob_dataset,
    coarse_map_volume_model,
    conv_volume_model,
    pointwise_volume_model,
)

from ai.runtime import (
    CPU,
    CUDA,
    Cancelled,
    ModelSession,
    blend_weights,
    clear_session_cache,
    cuda_usable,
    get_session,
    run_batched,
    sliding_window,
    window_starts,
)


def test_reports_the_provider_that_ran_and_the_time(capfd: pytest.CaptureFixture[str]) -> None:
    session = ModelSession(blob_classifier().cam_onnx, threads=1)
    result = session.run(blob_dataset(2, seed=3)[0])
    assert result.provider == session.session.get_providers()[0] == session.provider
    assert result.provider in (CUDA, CPU)
    if not cuda_usable():
        assert result.provider == CPU
        assert "CUDA" not in capfd.readouterr().err  # no onnxruntime CUDA noise on a CPU machine
    assert result.seconds > 0 and session.load_seconds > 0
    assert result.outputs["logits"].shape == (2, 2)


def test_asking_for_cpu_only_gives_cpu() -> None:
    assert ModelSession(blob_classifier().plain_onnx, providers=[CPU]).providers == [CPU]
    assert CPU in ort.get_available_providers()


def test_session_cache_reuses_and_notices_a_changed_file(tmp_path: Path) -> None:
    clear_session_cache()
    path = tmp_path / "m.onnx"
    shutil.copyfile(blob_classifier().plain_onnx, path)
    first = get_session(path, threads=1)
    assert get_session(path, threads=1) is first
    assert get_session(path, threads=2) is not first
    shutil.copyfile(blob_classifier().cam_onnx, path)
    os.utime(path, ns=(1, 1))
    changed = get_session(path, threads=1)
    assert changed is not first and changed.output_names == ["logits", "cam"]


def test_batched_run_equals_one_run_and_reports_progress() -> None:
    session = get_session(blob_classifier().cam_onnx)
    images = blob_dataset(10, seed=4)[0]
    seen: list[tuple[int, int]] = []
    batched = run_batched(session, images, batch_size=4, progress=lambda d, t: seen.append((d, t)))
    whole = session.run(images)
    assert batched.runs == 3 and seen == [(1, 3), (2, 3), (3, 3)]
    for name in ("logits", "cam"):
        np.testing.assert_allclose(batched.outputs[name], whole.outputs[name], rtol=1e-5, atol=1e-5)


def test_window_positions_cover_the_axis_like_monai() -> None:
    assert window_starts(20, 8, 0.25) == [0, 6, 12]
    assert window_starts(8, 8, 0.5) == [0]
    assert window_starts(5, 8, 0.5) == [0]
    w = blend_weights((9, 9), "gaussian")
    assert w.shape == (9, 9) and w[4, 4] == w.max() and w.min() > 0
    assert blend_weights((5,), "linear").tolist() == pytest.approx([1 / 3, 2 / 3, 1, 2 / 3, 1 / 3])


@pytest.mark.parametrize("mode", ["gaussian", "linear", "constant"])
def test_sliding_window_equals_whole_volume_for_a_pointwise_model(mode: str) -> None:
    session = get_session(pointwise_volume_model())
    volume = np.random.default_rng(5).normal(size=(1, 13, 20, 6)).astype(np.float32)  # last axis < patch
    tiled = sliding_window(session, volume, (8, 8, 8), overlap=0.5, mode=mode, batch_size=3)
    whole = session.run(volume[None]).outputs["prob"][0]
    assert tiled.maps["prob"].shape == whole.shape == (2, 13, 20, 6)
    np.testing.assert_allclose(tiled.maps["prob"], whole, atol=1e-5)
    assert tiled.runs == 4 and tiled.provider == session.provider  # 3 x 4 x 1 windows, 3 a batch
    assert tiled.windows == []


def test_sliding_window_matches_monai_for_a_convolutional_model() -> None:
    import torch
    from monai.inferers import sliding_window_inference

    path, model = conv_volume_model()
    volume = np.random.default_rng(6).normal(size=(1, 12, 17, 10)).astype(np.float32)
    ours = sliding_window(get_session(path), volume, (8, 8, 8), overlap=0.25, mode="gaussian")
    with torch.no_grad():
        theirs = sliding_window_inference(torch.from_numpy(volume[None]), (8, 8, 8), 4, model,
                                          overlap=0.25, mode="gaussian")
    np.testing.assert_allclose(ours.maps["prob"], theirs[0].numpy(), atol=1e-4)
    whole = get_session(path).run(volume[None]).outputs["prob"][0]
    assert np.abs(ours.maps["prob"] - whole).max() > 1e-3  # borders matter for this model


def test_sliding_window_resizes_coarse_maps_and_keeps_other_outputs_per_window() -> None:
    session = get_session(coarse_map_volume_model())
    volume = np.full((1, 12, 16, 8), 0.7, dtype=np.float32)
    result = sliding_window(session, volume, (8, 8, 8), overlap=0.5, batch_size=4)
    expected = session.run(volume[None, :, :8, :8, :8]).outputs["score"][0]  # constant in, constant out
    assert result.maps["coarse"].shape == (2, 12, 16, 8)
    np.testing.assert_allclose(result.maps["coarse"], np.broadcast_to(expected[:, None, None, None],
                                                                      (2, 12, 16, 8)), rtol=1e-5)
    assert [w.start for w in result.windows] == [(0, 0, 0), (0, 4, 0), (0, 8, 0), (4, 0, 0), (4, 4, 0),
                                                 (4, 8, 0)]
    assert all(w.outputs["score"].shape == (2,) for w in result.windows)


def test_cancellation_stops_before_the_next_batch() -> None:
    session = get_session(pointwise_volume_model())
    volume = np.zeros((1, 24, 24, 24), dtype=np.float32)
    cancel = threading.Event()
    seen: list[int] = []

    def progress(done: int, total: int) -> None:
        seen.append(done)
        cancel.set()

    with pytest.raises(Cancelled):
        sliding_window(session, volume, (8, 8, 8), overlap=0.0, batch_size=2, progress=progress,
                       cancel=cancel)
    assert seen == [1]
    with pytest.raises(Cancelled):
        run_batched(session, volume[None], cancel=cancel)
