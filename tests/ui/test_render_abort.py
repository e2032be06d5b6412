"""Input during a full-quality 3D frame aborts it and is handled at once (`render_abort`).

Real LIDC-0314 volume in the real `VolumeView` under Xvfb (llvmpipe → CPU ray caster). Input
is posted to the VTK widget from inside the render (at VTK's first abort check), as a press or
key arriving while the frame is computed. What is measured is the order of events and the abort
counter, not time: the render must end at that check, and the press must reach the widget after
the render returned (never inside it) and start the drag.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from viewer.core.volume import Volume


@pytest.fixture(scope="module")
def lidc(lidc_dir: Path) -> Volume:
    from viewer.core.series_loader import load_series

    return load_series(lidc_dir).volume


@pytest.fixture()
def view(qtbot, lidc: Volume):  # noqa: ANN001, ANN201 (pytest-qt fixture)
    from viewer.ui.volume_view import VolumeView

    view = VolumeView()
    qtbot.addWidget(view)
    view.resize(520, 550)
    view.show()
    qtbot.waitExposed(view)
    view.set_volume(lidc)
    assert view.rest_render.aborted == 0, "nothing pending: the first frame completes"
    return view


class Journal:
    """Render starts/ends and abort checks of the view's window, input the widget receives;
    ``post_at_first_check`` is posted to the widget from inside the next full-quality render."""

    def __init__(self, view) -> None:  # noqa: ANN001
        from PySide6.QtCore import QObject

        self.view = view
        self.log: list[str] = []
        self.post_at_first_check: list[object] = []
        window = view.vtk_widget.GetRenderWindow()
        window.AddObserver("StartEvent", lambda *_: self.log.append("render"))
        window.AddObserver("EndEvent", lambda *_: self.log.append(
            "coarse" if view.scene.interactive else "full"))
        window.AddObserver("AbortCheckEvent", self._check, 10.0)  # before the view's observer

        journal = self

        class Input(QObject):
            def eventFilter(self, _watched, event) -> bool:  # noqa: ANN001, N802
                name = event.type().name
                if name in ("MouseButtonPress", "MouseButtonRelease", "KeyPress"):
                    journal.log.append(name)
                return False

        self.input = Input()
        view.vtk_widget.installEventFilter(self.input)

    def _check(self, *_: object) -> None:
        from PySide6.QtCore import QCoreApplication

        if not self.view.rest_render.rendering:
            return
        self.log.append("check")
        while self.post_at_first_check:
            event = self.post_at_first_check.pop(0)
            if callable(event):  # input the way the window system delivers it
                event()
            else:
                QCoreApplication.postEvent(self.view.vtk_widget, event)


def _mouse(kind: str, view) -> object:  # noqa: ANN001
    from PySide6.QtCore import QEvent, QPointF, Qt
    from PySide6.QtGui import QMouseEvent

    centre = QPointF(view.vtk_widget.width() / 2, view.vtk_widget.height() / 2)
    button = Qt.MouseButton.LeftButton
    held = button if kind == "MouseButtonPress" else Qt.MouseButton.NoButton
    return QMouseEvent(getattr(QEvent.Type, kind), centre, view.vtk_widget.mapToGlobal(centre),
                       button, held, Qt.KeyboardModifier.NoModifier)


def _after(log: list[str], mark: str) -> list[str]:
    return log[len(log) - log[::-1].index(mark):] if mark in log else []


def test_a_press_during_the_full_frame_aborts_it_and_starts_the_drag(qtbot, view,  # noqa: ANN001
                                                                      output_dir: Path) -> None:
    from PySide6.QtCore import QCoreApplication

    journal = Journal(view)
    qtbot.waitUntil(view.rest_render.check_due, timeout=5000)  # VTK checks at most every 0.2 s
    journal.post_at_first_check.append(_mouse("MouseButtonPress", view))
    view._rest_timer.start()  # the view has rested: full-quality frame
    qtbot.waitUntil(lambda: view.rest_render.aborted == 1, timeout=20000)
    rest = journal.log[journal.log.index("render"):]
    assert rest[:3] == ["render", "check", "full"], rest  # ended at its first abort check
    assert rest[3] == "MouseButtonPress", "the press reaches the widget after the render, not in it"
    assert view.scene.interactive, "the press started a drag: reduced level of detail"
    assert view.scene.prop.GetMapper() is view.scene._coarse

    journal.log.clear()
    QCoreApplication.postEvent(view.vtk_widget, _mouse("MouseButtonRelease", view))
    qtbot.waitUntil(lambda: not view.scene.interactive and journal.log[-1:] == ["full"],
                    timeout=30000)
    assert view.rest_render.aborted == 1, "with no input the full frame completes"
    rgb = view.grab_array()
    Image.fromarray(rgb).save(output_dir / "volume-rest-after-aborted-frame.png")
    h, w, _ = rgb.shape
    assert (rgb[h // 3:2 * h // 3, w // 3:2 * w // 3].max(axis=-1) > 30).mean() > 0.5, "chest shown"


def test_a_spontaneous_press_is_held_and_reaches_the_widget_after_the_frame(
        qtbot, view) -> None:  # noqa: ANN001
    """QTest's press (a spontaneous event, as from the window system) during the frame is held
    and delivered after it, like a posted one."""
    from PySide6.QtCore import QPoint, Qt

    journal = Journal(view)
    widget = view.vtk_widget
    centre = QPoint(widget.width() // 2, widget.height() // 2)
    qtbot.waitUntil(view.rest_render.check_due, timeout=5000)
    journal.post_at_first_check.append(
        lambda: qtbot.mousePress(widget, Qt.MouseButton.LeftButton, pos=centre))
    view._rest_timer.start()
    qtbot.waitUntil(lambda: view.rest_render.aborted == 1, timeout=20000)
    assert journal.log[:4] == ["render", "check", "full", "MouseButtonPress"], journal.log
    assert view.scene.interactive, "the press started a drag"
    qtbot.mouseRelease(widget, Qt.MouseButton.LeftButton, pos=centre)
    qtbot.waitUntil(lambda: not view.scene.interactive and journal.log[-1:] == ["full"],
                    timeout=30000)


class XTest:
    """Real X input through the XTEST extension (libXtst), as a user's mouse makes it."""

    def __init__(self) -> None:
        import ctypes
        import ctypes.util

        names = [ctypes.util.find_library("X11"), ctypes.util.find_library("Xtst")]
        if None in names:
            pytest.skip("libX11/libXtst not found: no real X input")
        self.x11, self.xtst = (ctypes.CDLL(name) for name in names)  # type: ignore[arg-type]
        self.x11.XOpenDisplay.restype = ctypes.c_void_p
        self.display = self.x11.XOpenDisplay(None)
        if not self.display:
            pytest.skip("no X display")
        self.c = ctypes

    def press_at(self, x: int, y: int) -> None:
        d = self.c.c_void_p(self.display)
        self.xtst.XTestFakeMotionEvent(d, -1, x, y, 0)
        self.xtst.XTestFakeButtonEvent(d, 1, True, 0)
        self.x11.XSync(d, False)

    def release(self) -> None:
        d = self.c.c_void_p(self.display)
        self.xtst.XTestFakeButtonEvent(d, 1, False, 0)
        self.x11.XSync(d, False)

    def close(self) -> None:
        self.x11.XCloseDisplay(self.c.c_void_p(self.display))


def test_a_real_x_press_during_the_frame_is_held_at_the_window_and_starts_the_drag(
        qtbot, view) -> None:  # noqa: ANN001
    """An X server press (XTEST) reaches Qt through the window system: the press is held where
    it arrives (the top-level window), the frame ends, and the window routes it to the widget."""
    from PySide6.QtCore import QCoreApplication, QDeadlineTimer

    xtest = XTest()
    try:
        journal = Journal(view)
        centre = view.vtk_widget.mapToGlobal(view.vtk_widget.rect().center())
        view.activateWindow()

        def press_and_let_qt_read_it() -> None:
            xtest.press_at(centre.x(), centre.y())
            deadline = QDeadlineTimer(5000)
            while not view.rest_render._abort and not deadline.hasExpired():
                QCoreApplication.processEvents()  # the press arrives from Qt's X reader thread

        qtbot.waitUntil(view.rest_render.check_due, timeout=5000)
        journal.post_at_first_check.append(press_and_let_qt_read_it)
        view._rest_timer.start()
        qtbot.waitUntil(lambda: view.rest_render.aborted == 1, timeout=20000)
        assert journal.log[:4] == ["render", "check", "full", "MouseButtonPress"], journal.log
        qtbot.waitUntil(lambda: view.scene.interactive, timeout=5000)
        xtest.release()
        qtbot.waitUntil(lambda: not view.scene.interactive and journal.log[-1:] == ["full"],
                        timeout=30000)
    finally:
        xtest.close()


def test_a_key_during_the_full_frame_aborts_it_and_the_frame_is_rendered_again(
        qtbot, view) -> None:  # noqa: ANN001
    from PySide6.QtCore import QEvent, Qt
    from PySide6.QtGui import QKeyEvent

    journal = Journal(view)
    qtbot.waitUntil(view.rest_render.check_due, timeout=5000)
    journal.post_at_first_check.append(
        QKeyEvent(QEvent.Type.KeyPress, Qt.Key.Key_Shift, Qt.KeyboardModifier.NoModifier))
    view._rest_timer.start()
    qtbot.waitUntil(lambda: view.rest_render.aborted == 1, timeout=20000)
    assert journal.log[:4] == ["render", "check", "full", "KeyPress"], journal.log
    assert not view.scene.interactive, "a key starts no drag"
    qtbot.waitUntil(lambda: journal.log.count("full") == 2, timeout=30000)  # tried again at rest
    assert view.rest_render.aborted == 1
    second = _after(journal.log, "KeyPress")
    assert second[0] == "render" and second[-1] == "full"


def test_a_preset_change_from_inside_the_render_is_applied_after_it(qtbot, view) -> None:  # noqa: ANN001
    """Code run by the abort check (a queued signal, a timer) that changes the scene waits for
    the render to end; the render is cut short and the new preset rendered."""
    journal = Journal(view)
    qtbot.waitUntil(view.rest_render.check_due, timeout=5000)
    window = view.vtk_widget.GetRenderWindow()
    calls: list[int] = []

    def change_preset(*_: object) -> None:
        if view.rest_render.rendering and not calls:
            calls.append(1)
            view.set_preset("lung")

    window.AddObserver("AbortCheckEvent", change_preset, 5.0)
    view._rest_timer.start()
    qtbot.waitUntil(lambda: view.scene.preset.name == "lung" and journal.log[-1:] == ["full"]
                    and view.rest_render.aborted == 1, timeout=30000)
    assert view.presets.currentText() == "lung"
    assert np.asarray(view.grab_array()).any()
