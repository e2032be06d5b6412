"""Worker threads: named, joined, and their workers freed only by Python in the GUI thread."""

from __future__ import annotations

from pathlib import Path

import shiboken6
from PySide6.QtCore import QObject, QSettings, QThread, Signal

from viewer.ui.main_window import MainWindow
from viewer.ui.workers import start_worker


class _Owner(QObject):
    pass


class _Echo(QObject):
    finished = Signal(object)
    failed = Signal(str)

    def run(self) -> None:
        self.finished.emit(self.objectName())


def test_a_finished_worker_is_still_valid_until_its_owner_drops_it(qtbot) -> None:  # noqa: ANN001
    """The worker must not be deleted in its ending thread (deleteLater) while Python may free
    the same wrapper in the GUI thread: that double free segfaulted the suite."""
    owner, worker = _Owner(), _Echo()
    with qtbot.waitSignal(worker.finished, timeout=30_000):
        thread = start_worker(worker, owner)
    qtbot.waitUntil(thread.isFinished, timeout=30_000)
    assert thread.wait(30_000)
    assert shiboken6.isValid(worker), "only its Python owner frees the worker"
    assert thread.objectName() == "rs-_Echo" and thread.parent() is owner


def test_the_window_joins_and_releases_its_workers(qtbot, tmp_path: Path, dicom_data: Path) -> None:  # noqa: ANN001
    window = MainWindow(QSettings(str(tmp_path / "radsight.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    for _ in range(3):  # each index starts a load: several workers come and go
        window.open_path(dicom_data / "dcm_qa_ts")
        qtbot.waitUntil(lambda: window.model.complete and not window.is_loading(), timeout=60_000)
    threads = window.findChildren(QThread)
    assert len(threads) == 9 and not any(t.isRunning() for t in threads)  # per open: index, load, thumbnails
    assert {t.objectName() for t in threads} == {"rs-IndexWorker", "rs-LoadWorker", "rs-ThumbnailWorker"}
