"""A slow VTK frame that user input never waits for: VTK's abort-render check, fed by Qt.

The full-quality 3D frame at rest takes 0.1–0.4 s on llvmpipe (seconds on a loaded machine) and
renders on the UI thread. During a render VTK's CPU ray caster calls
``vtkRenderWindow.CheckAbortStatus()`` every few rows, which fires ``AbortCheckEvent`` at most
five times a second. `InterruptibleRender` answers that event: it lets Qt process what is
pending, holding back user input (mouse press, wheel, key, shortcut, close…) with an
application event filter. Any held press, key or close aborts the render
(``SetAbortRender(1)``); once ``Render()`` has returned, the held input is delivered in order,
so the press that starts a drag goes on as if the frame had never been started.

Held input is replayed with ``sendEvent`` after the render, never during it: nothing the user
does runs inside the VTK render. Other events (timers, queued signals, paints) are processed as
in any ``processEvents`` call; a nested ``Render()`` of the same window returns at once (VTK
ignores it while a render or an abort check is in progress), and the objects the scene renders
are kept alive (``keep_alive``) until the render has returned.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from PySide6.QtCore import QCoreApplication, QEvent, QObject

T = QEvent.Type
#: Input held back during a render and delivered after it.
HELD = frozenset({
    T.MouseButtonPress, T.MouseButtonRelease, T.MouseButtonDblClick, T.MouseMove, T.Wheel,
    T.KeyPress, T.KeyRelease, T.Shortcut, T.TouchBegin, T.TouchUpdate, T.TouchEnd,
    T.ContextMenu, T.Close,
})
#: Held input that ends the render (moving the pointer alone does not).
INTERRUPTING = frozenset({
    T.MouseButtonPress, T.MouseButtonDblClick, T.Wheel, T.KeyPress, T.Shortcut, T.TouchBegin,
    T.ContextMenu, T.Close,
})


class InterruptibleRender(QObject):
    """Renders ``render_window`` so that user input aborts the render instead of waiting.

    ``aborted``: renders ended early by input (the abort counter); ``checks``: abort checks
    seen during guarded renders; ``rendering``: True while `render` runs.
    """

    def __init__(self, render_window: object,
                 keep_alive: Callable[[], list[object]] | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.render_window = render_window
        self.keep_alive = keep_alive or (lambda: [])
        self.aborted = 0
        self.checks = 0
        self.rendering = False
        self.last_check = 0.0
        self._abort = False
        self._held: list[tuple[QObject, QEvent]] = []
        self._observer = render_window.AddObserver("AbortCheckEvent", self._on_abort_check)

    def render(self) -> bool:
        """Render once; False when input aborted it (the input is then delivered)."""
        if self.rendering:
            return False
        app = QCoreApplication.instance()
        alive = self.keep_alive()  # noqa: F841 - held until Render() has returned
        self.rendering, self._abort = True, False
        app.installEventFilter(self)
        try:
            self.render_window.Render()
        finally:
            app.removeEventFilter(self)
            self.rendering = False
        aborted = self._abort
        self.aborted += aborted
        self._replay()
        return not aborted

    def request_abort(self) -> None:
        """End the current render at its next abort check (e.g. the scene changed)."""
        if self.rendering:
            self._abort = True

    def check_due(self) -> bool:
        """True when VTK's next abort check will fire at once (it runs at most every 0.2 s)."""
        return time.monotonic() - self.last_check > 0.2

    def close(self) -> None:
        self.render_window.RemoveObserver(self._observer)

    def _on_abort_check(self, window: object, _event: str) -> None:
        self.last_check = time.monotonic()
        if not self.rendering:
            return
        self.checks += 1
        if not self._abort and threading.current_thread() is threading.main_thread():
            QCoreApplication.processEvents()  # input lands in eventFilter and is held
        if self._abort:
            window.SetAbortRender(1)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt override)
        if not self.rendering or event.type() not in HELD:
            return False
        self._held.append((watched, event.clone()))
        if event.type() in INTERRUPTING:
            self._abort = True
        return True

    def _replay(self) -> None:
        held, self._held = self._held, []
        for receiver, event in held:
            QCoreApplication.sendEvent(receiver, event)
