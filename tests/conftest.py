"""Shared fixtures: where the real data lives, and an output folder for screenshots/reports."""

from __future__ import annotations

import gc
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

try:  # property-based tests: the same examples every run, and no time limit that load can break
    from hypothesis import HealthCheck
    from hypothesis import settings as hypothesis_settings
except ImportError:  # pragma: no cover - hypothesis is in the dev pins
    pass
else:
    hypothesis_settings.register_profile("radsight", deadline=None, derandomize=True, database=None,
                                         suppress_health_check=[HealthCheck.too_slow])
    hypothesis_settings.load_profile("radsight")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(__import__("os").environ.get("RADSIGHT_SHARED_DATA", REPO.parent / "shared" / "data"))
OUTPUT = REPO / "test-output"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Root of ../shared/data; the test is skipped (with the reason) where it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data folder not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def dicom_data(shared_data: Path) -> Path:
    return shared_data / "dicom"


@pytest.fixture(scope="session")
def lidc_0001(dicom_data: Path) -> Path:
    """LIDC-IDRI-0001, stored JPEG-LS lossless (decoded in the decode pool's worker processes)."""
    path = dicom_data / "lidc-idri-0001" / "series"
    if not path.is_dir():
        pytest.skip(f"LIDC-0001 (JPEG-LS) series not found at {path}")
    return path


@pytest.fixture(scope="module")
def stop_decoders_after_module() -> Iterator[None]:
    """Stops the decode pool's worker processes once the module's tests are done."""
    yield
    from viewer.core import decode_pool

    decode_pool.shutdown()


@pytest.fixture(scope="session")
def lidc_dir(dicom_data: Path) -> Path:
    path = dicom_data / "lidc-idri-0314" / "series"
    if not path.is_dir():
        pytest.skip(f"LIDC-0314 series not found at {path}")
    return path


@pytest.fixture(scope="session")
def output_dir() -> Path:
    OUTPUT.mkdir(exist_ok=True)
    return OUTPUT


@pytest.fixture(autouse=True)
def private_data_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own RadSight data folder (AI feedback database), never the user's."""
    path = tmp_path_factory.mktemp("radsight-data")
    monkeypatch.setenv("RADSIGHT_DATA_DIR", str(path))
    return path


# --- test hygiene: nothing a test starts outlives it ------------------------------------------
_THREAD_GRACE_S = 10.0  # a quitting thread ends in milliseconds; this is for a busy machine


def _worker_threads() -> dict[int, str]:
    """Threads that must end with their test: Python threads and the QThreads of
    `viewer.ui.workers.start_worker` (every worker thread of the application starts there)."""
    threads = {id(t): f"Python thread {t.name!r}" for t in threading.enumerate()
               if t is not threading.main_thread()}
    workers = sys.modules.get("viewer.ui.workers")
    if workers is not None:
        threads.update({id(t): f"QThread {t.objectName()!r}" for t in workers.running_worker_threads()})
    return threads


def _qt_app():  # noqa: ANN202 - QApplication or None, without importing Qt for non-GUI tests
    qt_core = sys.modules.get("PySide6.QtWidgets")
    return qt_core.QApplication.instance() if qt_core is not None else None


def _address(widget: object) -> int:
    import shiboken6

    return shiboken6.getCppPointer(widget)[0]


def _parentless_windows(app: object) -> list:
    """Top-level widgets without a parent: the windows a test made (popups, menus and tooltips
    have parents and go with them)."""
    return [w for w in app.topLevelWidgets() if w.parent() is None]  # type: ignore[attr-defined]


def _close_new_windows(before: set[int]) -> None:
    """Close and delete (here, in the GUI thread) the top-level widgets the test left, then
    collect garbage here too, so that no Qt or VTK object of this test is freed later by a
    collection that happens to run in the next test's worker thread."""
    app = _qt_app()
    if app is None:
        return
    from PySide6.QtCore import QEvent

    for widget in _parentless_windows(app):
        if _address(widget) not in before:
            if widget.isVisible():  # (pytest-qt already closed those given to qtbot.addWidget)
                widget.close()
            widget.deleteLater()
    app.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    gc.collect()
    app.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def _wait_for_threads_to_end(started: dict[int, str]) -> dict[int, str]:
    """Threads of ``started`` still alive after the grace period (GUI events processed meanwhile)."""
    deadline = time.monotonic() + _THREAD_GRACE_S
    alive = {tid: name for tid, name in _worker_threads().items() if tid in started}
    while alive and time.monotonic() < deadline:
        app = _qt_app()
        if app is not None:
            app.processEvents()  # a worker's quit is queued to the GUI thread
        time.sleep(0.01)
        alive = {tid: name for tid, name in _worker_threads().items() if tid in started}
    return alive


@pytest.fixture(autouse=True)
def no_leftover_threads(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fails (at teardown) a test that leaves a Python thread or a QThread running.

    Join or cancel every thread, stop every server and close every window you start; windows
    registered with ``qtbot.addWidget`` are closed by pytest-qt before this check runs.
    """
    before_threads = set(_worker_threads())
    app = _qt_app()
    before_windows = {_address(w) for w in _parentless_windows(app)} if app is not None else set()
    yield
    _close_new_windows(before_windows)
    started = {tid: name for tid, name in _worker_threads().items() if tid not in before_threads}
    left = _wait_for_threads_to_end(started)
    if left:
        names = ", ".join(sorted(left.values()))
        pytest.fail(f"{request.node.nodeid} left {len(left)} thread(s) running "
                    f"{_THREAD_GRACE_S:g} s after it ended: {names}", pytrace=False)


@pytest.fixture(autouse=True)
def private_qsettings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """QSettings() without a file (the window's default) writes to a per-test folder, never
    the user's configuration, and no test reads another's."""
    qt_core = sys.modules.get("PySide6.QtCore")
    if qt_core is None:
        yield
        return
    settings = qt_core.QSettings
    folder = str(tmp_path_factory.mktemp("qsettings"))
    for fmt in (settings.Format.NativeFormat, settings.Format.IniFormat):
        for scope in (settings.Scope.UserScope, settings.Scope.SystemScope):
            settings.setPath(fmt, scope, folder)
    yield
