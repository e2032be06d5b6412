"""Python's cyclic garbage collector runs in the GUI thread only.

An automatic collection runs in whichever thread happens to allocate. When it frees a Qt object
there (say the menus of a closed window, kept in a reference cycle), Qt destroys that object off
the GUI thread: seen in the test suite as a deadlock — a loader thread collecting a QMenu waited
for the GIL inside ``QObject::~QObject`` while the GUI thread, holding the GIL, waited for the
same Qt mutex. pyqtgraph's :class:`GarbageCollector` turns automatic collection off and collects
on a GUI-thread timer instead.
"""

from __future__ import annotations

from pyqtgraph.util.garbage_collector import GarbageCollector

_collector: GarbageCollector | None = None


def collect_garbage_in_gui_thread(interval_s: float = 1.0) -> None:
    """Call once from the GUI thread (a QApplication exists); later calls change nothing."""
    global _collector
    if _collector is None:
        _collector = GarbageCollector(interval=interval_s)
