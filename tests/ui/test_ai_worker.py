"""The Analyze worker in a real QThread on real (tiny, trained-here) ONNX models: findings,
progress, refusals in plain words, tampered models, cancellation, and storing the results."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QObject, Qt, Slot

from ai.package import Scope, write_package
from ai.registry import ModelRegistry
from viewer.core.feedback_db import FeedbackDB
from viewer.core.volume import Volume
from viewer.ui.ai_worker import AnalysisSummary, AnalysisWorker, record_summary
from viewer.ui.workers import start_worker

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ai"))
from tiny_models import blob_classifier, blob_image, blob_package, install_blob_package, to_uint8  # noqa: E402

SOP = "1.2.826.0.1.99.3.1"


def radiograph(blob: bool = True) -> Volume:
    """64 x 64 DX image with the blob at rows 40-55, columns 16-31 (no pixel spacing)."""
    image = blob_image(np.random.default_rng(11), blob, at=(20, 8))[0]
    voxels = to_uint8(np.kron(image, np.ones((2, 2))))[None].astype(np.float32)
    return Volume(voxels, (1.0, 1.0, 1.0), modality="DX", has_geometry=False,
                  series_instance_uid="1.2.826.0.1.99.3", study_instance_uid="1.2.826.0.1.99",
                  sop_instance_uids=(SOP,))


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> ModelRegistry:
    """A models folder: the blob model, a CT-only one, and one whose ONNX file was altered."""
    folder = tmp_path_factory.mktemp("models")
    install_blob_package(folder, "tiny-blob")
    ct_scope = Scope(modalities=("CT",), dimensionality="2d")
    write_package(folder / "tiny-ct", blob_classifier().cam_onnx, blob_package("tiny-ct", scope=ct_scope))
    install_blob_package(folder, "tiny-tampered")
    onnx = folder / "tiny-tampered" / "model.onnx"
    onnx.write_bytes(onnx.read_bytes() + b"\0")
    return ModelRegistry([("user", folder)])


class Receiver(QObject):
    """Lives in the GUI thread: the worker's signals reach it queued, as they reach the window."""

    def __init__(self) -> None:
        super().__init__()
        self.summary: AnalysisSummary | None = None
        self.progress: list[tuple[int, str]] = []

    @Slot(int, str)
    def on_progress(self, percent: int, message: str) -> None:
        self.progress.append((percent, message))

    @Slot(object)
    def on_finished(self, summary: AnalysisSummary) -> None:
        self.summary = summary


def run_in_thread(qtbot, worker: AnalysisWorker) -> tuple[AnalysisSummary, list[tuple[int, str]]]:  # noqa: ANN001
    receiver = Receiver()
    worker.progress.connect(receiver.on_progress)
    worker.finished.connect(receiver.on_finished)
    thread = start_worker(worker, receiver)
    qtbot.waitUntil(lambda: receiver.summary is not None, timeout=60_000)
    # the thread's quit is queued to this (GUI) thread: keep processing events while it ends,
    # never block in QThread.wait() before it has finished (that would hold the quit back)
    qtbot.waitUntil(thread.isFinished, timeout=10_000)
    thread.wait()
    # the worker, the thread and its parent (the receiver) are now dropped here, in the GUI thread,
    # after the join: the contract of start_worker (no deleteLater, no keep-alive list)
    return receiver.summary, receiver.progress


def test_runs_applicable_models_and_explains_refusals(qtbot, models: ModelRegistry) -> None:  # noqa: ANN001
    summary, seen = run_in_thread(qtbot, AnalysisWorker(radiograph(), registry=models))
    assert not summary.cancelled and not summary.failed
    [run] = summary.runs
    assert (run.name, run.device) == ("tiny-blob", "CPU") and run.seconds > 0
    [finding] = summary.findings
    assert finding.label == "blob" and finding.passes_operating_point
    assert finding.series_instance_uid == "1.2.826.0.1.99.3" and finding.explanation == "tiny-blob/blob"
    assert summary.maps["tiny-blob/blob"].shape == (1, 64, 64)
    assert summary.refused["tiny-ct"] == "model 'tiny-ct' is for CT images; this one is DX"
    assert "does not match the SHA-256" in summary.refused["tiny-tampered"]
    text = summary.status_text()
    assert text.startswith("Analysis: 1 finding(s), 1 marked (score ≥ operating point). "
                           "tiny-blob 0.1.0 on CPU in")
    assert "tiny-ct not run: model 'tiny-ct' is for CT images; this one is DX" in text
    percents = [p for p, _ in seen]
    assert percents == sorted(percents) and percents[-1] == 100 and len(percents) >= 3
    assert seen[0][1] == "Running tiny-blob (1/1)"


def test_cancel_stops_before_the_next_batch(qtbot, models: ModelRegistry) -> None:  # noqa: ANN001
    worker = AnalysisWorker(radiograph(), registry=models)
    worker.progress.connect(lambda *_: worker.cancel(), Qt.ConnectionType.DirectConnection)
    summary, seen = run_in_thread(qtbot, worker)
    assert summary.cancelled and summary.runs == [] and summary.findings == []
    assert summary.status_text().startswith("Analysis cancelled: 0 finding(s)")
    assert all(p < 100 for p, _ in seen)


def test_nothing_installed_says_so(qtbot, tmp_path: Path) -> None:  # noqa: ANN001
    empty = ModelRegistry([("user", tmp_path)])
    summary, _ = run_in_thread(qtbot, AnalysisWorker(radiograph(), registry=empty))
    assert summary.runs == [] and summary.status_text() == "Analysis: no model installed"


def test_results_are_stored_with_the_slice_uid(qtbot, models: ModelRegistry, tmp_path: Path) -> None:  # noqa: ANN001
    volume = radiograph()
    summary, _ = run_in_thread(qtbot, AnalysisWorker(volume, registry=models))
    with FeedbackDB(tmp_path / "f.sqlite3") as db:
        [analysis_id] = record_summary(db, summary, volume)
        [stored] = db.latest_findings(volume.series_instance_uid)
        assert stored.analysis_id == analysis_id and stored.sop_instance_uid == SOP
        assert stored.finding["id"] == summary.findings[0].id
        [analysis] = db.latest_analyses(volume.series_instance_uid)
        assert (analysis.model, analysis.study_instance_uid) == ("tiny-blob", "1.2.826.0.1.99")


def test_snapshot_with_analysis(qtbot, models: ModelRegistry, output_dir: Path) -> None:  # noqa: ANN001
    from viewer.core.view_state import ViewKind
    from viewer.ui.analysis_snapshot import analyse_volume, render_analysis

    from .viewer_helpers import save, to_array

    volume = radiograph()
    summary = analyse_volume(volume, registry=models)
    plain = to_array(render_analysis(volume, summary, ViewKind.AXIAL, size=(256, 256), opacity=0.0))
    image = render_analysis(volume, summary, ViewKind.AXIAL, size=(256, 256), opacity=0.8)
    save(image, output_dir, "ai_snapshot_blob.png")
    changed = np.abs(to_array(image).astype(int) - plain).sum(axis=2) > 30
    # the view is centred on the finding (the blob, 16 x 16 pixels shown 4x): heat there only
    assert changed[100:156, 100:156].mean() > 0.9
    assert changed[:64, :200].mean() < 0.02 and changed[200:, :200].mean() < 0.02
