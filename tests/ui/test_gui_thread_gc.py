"""Cyclic garbage is collected in the GUI thread only, never by a worker thread that allocates."""

from __future__ import annotations

import gc
import threading
import weakref

from PySide6.QtCore import QSettings
from pytestqt.qtbot import QtBot

from viewer.ui.main_window import MainWindow


class _Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the cyclic collector frees it


def test_the_window_moves_garbage_collection_to_the_gui_thread(qtbot: QtBot, tmp_path) -> None:
    window = MainWindow(QSettings(str(tmp_path / "radsight.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    assert not gc.isenabled()
    collected_in: list[str] = []

    def note_thread(phase: str, info: dict) -> None:
        if phase == "start":
            collected_in.append(threading.current_thread().name)

    gc.callbacks.append(note_thread)
    try:
        def allocate_cycles() -> list[weakref.ref]:
            return [weakref.ref(_Node()) for _ in range(5000)]

        refs: list[list[weakref.ref]] = []
        worker = threading.Thread(target=lambda: refs.append(allocate_cycles()), name="allocating-worker")
        worker.start()
        worker.join()
        assert "allocating-worker" not in collected_in
        qtbot.waitUntil(lambda: all(ref() is None for ref in refs[0]), timeout=20000)
        assert collected_in and set(collected_in) == {threading.main_thread().name}
    finally:
        gc.callbacks.remove(note_thread)
