"""`AIReading` needs no `MainWindow`: beside a bare QMainWindow, with only the view model, view grid
and study browser it is given, it says why Analyze cannot start, runs it on LIDC-0314 with the
shipped nodule-ct model, and reports only through its signals (status, progress, busy, analysed,
thread_started). Skipped, with the reason, while the model or the data is absent."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QMainWindow

from ai.registry import builtin_models_dir
from viewer.core.feedback_db import FeedbackDB
from viewer.core.series_loader import load_series
from viewer.core.view_state import ViewerModel
from viewer.ui.ai_reading import AIReading
from viewer.ui.study_browser import StudyBrowser
from viewer.ui.view_grid import ViewGrid

pytestmark = pytest.mark.gui


def bare_host(qtbot) -> tuple[QMainWindow, ViewerModel, ViewGrid, StudyBrowser]:  # noqa: ANN001
    host = QMainWindow()
    qtbot.addWidget(host)
    model = ViewerModel()
    grid = ViewGrid(model, host)
    host.setCentralWidget(grid)
    host.resize(1000, 800)
    host.show()
    qtbot.waitExposed(host)
    return host, model, grid, StudyBrowser(host)


def test_analyze_through_signals_only(qtbot, lidc_dir: Path, tmp_path: Path) -> None:  # noqa: ANN001
    if not (builtin_models_dir() / "nodule-ct" / "model.json").is_file():
        pytest.skip("shipped model nodule-ct not installed (resources/models/nodule-ct/model.json)")
    host, model, grid, browser = bare_host(qtbot)
    ai = AIReading(model, grid, browser, host, FeedbackDB(tmp_path / "feedback.sqlite3"))
    ai.add_docks()
    seen: dict[str, list] = {"status": [], "analysed": [], "progress": [], "busy": [], "threads": []}
    for name in ("status", "analysed", "progress", "busy"):
        getattr(ai, name).connect(seen[name].append)
    ai.thread_started.connect(lambda thread, worker: seen["threads"].append((thread, worker)))

    assert not ai.analyze() and seen["status"] == ["Open a series first"]
    volume = load_series(lidc_dir).volume
    model.set_volume(volume, complete=False)
    assert not ai.analyze() and seen["status"][-1] == "Wait until the series has loaded completely"
    model.replace_volume(volume)
    ai.open_series(None, [])
    assert ai.analyze()
    assert seen["busy"] == [True] and len(seen["threads"]) == 1 and ai.running
    assert seen["status"][-1] == "Analysis starting…" and not ai.findings_dock.isHidden()

    qtbot.waitUntil(lambda: seen["busy"] == [True, False], timeout=600_000)
    thread, _worker = seen["threads"][0]
    # the thread's quit is queued to this (GUI) thread behind ``finished``: keep the event loop running
    # until it ends (a blocking QThread.wait here could wait forever on that queued quit)
    qtbot.waitUntil(thread.isFinished, timeout=60_000)
    assert seen["progress"] and seen["progress"][-1] == 100
    assert any(text.startswith("Running ") for text in seen["status"]), seen["status"]
    assert len(seen["analysed"]) == 1 and "nodule-ct" in seen["analysed"][0], seen["analysed"]
    assert ai.summary is not None and ai.run_label.text() == seen["analysed"][0]
    assert {f.id for f in ai.overlay.findings} == {f.id for f in ai.summary.findings if f.marked}
    ai.shutdown()
