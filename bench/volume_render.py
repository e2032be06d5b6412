"""MPR reslicing and 3D volume-rendering frame times on LIDC-0314 (and the tilted head CT).

Usage: ``xvfb-run -a .venv/bin/python bench/volume_render.py [--frames 6] [--size 768] [--only-3d]
[--press 3]`` (offscreen VTK: EGL or GLX on whatever OpenGL the machine has; on Mesa llvmpipe the
CPU ray caster is used; ``--press`` times input during full-quality frames in the Qt widget,
which needs a display).
The last lines are machine-readable ``name value`` pairs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from viewer.core.reslice import anatomical_plane, extract_plane, extract_slab, plane_geometry
from viewer.core.series_loader import load_series
from viewer.core.volume import Volume

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "dicom"


def median_ms(fn: Callable[[int], object], indices: list[int]) -> float:
    times = []
    for index in indices:
        start = time.perf_counter()
        fn(index)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def bench_reslice(volume: Volume) -> dict[str, float]:
    out = {}
    for view in ("axial", "coronal", "sagittal"):
        geo = plane_geometry(volume, view)
        indices = list(range(0, geo.n_slices, max(1, geo.n_slices // 60)))
        out[f"{view}_reslice_ms"] = median_ms(
            lambda s, v=view, g=geo: extract_plane(volume, v, s, g), indices)
        inner = [i for i in indices if 10 <= i < geo.n_slices - 10]
        out[f"{view}_mip10mm_ms"] = median_ms(
            lambda s, v=view, g=geo: extract_slab(volume, v, s, 10.0, "mip", g), inner)
    return out


def bench_3d(volume: Volume, frames: int, size: int) -> dict[str, float]:
    from viewer.ui.volume_view import PRESETS, VolumeScene, offscreen_window

    window = offscreen_window((size, size))
    scene = VolumeScene()
    scene.attach(window)
    print(f"software GL: {scene.software_gl}; CPU mapper: {scene.uses_cpu_mapper}")
    scene.set_volume(volume)
    out: dict[str, float] = {}
    for name in PRESETS:
        scene.set_preset(name)
        first = scene.render() * 1000
        rest, interactive = [], []
        for _ in range(frames):
            scene.rotate(10, 0)
            rest.append(scene.render() * 1000)
        scene.set_interactive(True)
        scene.render()  # the coarse mapper's first frame
        cpu_started = time.process_time()
        for _ in range(frames):
            scene.rotate(10, 0)
            interactive.append(scene.render() * 1000)
        cpu_ms = (time.process_time() - cpu_started) * 1000 / frames
        scene.set_interactive(False)
        key = name.replace(" ", "_")
        out[f"3d_{key}_first_ms"] = first
        out[f"3d_{key}_rest_ms"] = statistics.median(rest)
        out[f"3d_{key}_interactive_ms"] = statistics.median(interactive)
        out[f"3d_{key}_interactive_cpu_ms"] = cpu_ms  # CPU time of all threads, per frame
        out[f"3d_{key}_interactive_sample_distance"] = scene._coarse.GetImageSampleDistance() \
            if scene._coarse is not None else 1.0
    window.Finalize()
    return out


def bench_press_during_rest(volume: Volume, size: int, repeats: int) -> dict[str, float]:
    """The Qt widget: how long a mouse press waits when it comes during the full-quality frame.

    Per preset: the full frame's time with no input (``3d_<preset>_rest_widget_ms``); then a
    press is posted from another thread halfway through that time and timed until the widget
    receives it (``3d_<preset>_press_wait_ms``, median); without the abort it would wait for
    the rest of the frame (``3d_<preset>_press_wait_without_abort_ms`` = half the frame).
    """
    import threading

    from PySide6.QtWidgets import QApplication

    from viewer.ui.volume_view import PRESETS, VolumeView

    app = QApplication.instance() or QApplication([])
    view = VolumeView()
    view.resize(size, size + 30)
    view.show()
    app.processEvents()
    view.set_volume(volume)
    presses = _make_press_clock()()
    view.vtk_widget.installEventFilter(presses)
    out: dict[str, float] = {}
    for name in PRESETS:
        view.set_preset(name)
        full = _full_frame_ms(view, app)
        waits = []
        for _ in range(repeats):
            _wait_for_abort_check(view, app)
            timer = threading.Timer(full / 2000, presses.post, args=(view,))
            timer.start()
            view.scene.set_interactive(False)
            view._render_full()
            timer.join()
            app.processEvents()
            waits.append(presses.waited_ms())
            presses.release(view, app)
        key = name.replace(" ", "_")
        out[f"3d_{key}_rest_widget_ms"] = full
        out[f"3d_{key}_press_wait_ms"] = statistics.median(waits)
        out[f"3d_{key}_press_wait_without_abort_ms"] = full / 2
    out["3d_rest_frames_aborted"] = view.rest_render.aborted
    view.close()
    return out


def _full_frame_ms(view: object, app: object) -> float:
    _wait_for_abort_check(view, app)
    view.scene.set_interactive(False)  # type: ignore[attr-defined]
    start = time.perf_counter()
    view._render_full()  # type: ignore[attr-defined]
    return (time.perf_counter() - start) * 1000


def _wait_for_abort_check(view: object, app: object) -> None:
    """VTK checks for an abort at most every 0.2 s: start each frame with a check due."""
    while not view.rest_render.check_due():  # type: ignore[attr-defined]
        app.processEvents()  # type: ignore[attr-defined]
        time.sleep(0.01)


def _make_press_clock() -> type:
    from PySide6.QtCore import QCoreApplication, QEvent, QObject, QPointF, Qt
    from PySide6.QtGui import QMouseEvent

    class PressClock(QObject):
        """Posts a press to the 3D widget (any thread) and notes when the widget receives it."""

        def __init__(self) -> None:
            super().__init__()
            self.posted = self.received = 0.0

        def post(self, view: object, kind: QEvent.Type = QEvent.Type.MouseButtonPress) -> None:
            widget = view.vtk_widget  # type: ignore[attr-defined]
            centre = QPointF(widget.width() / 2, widget.height() / 2)
            button = Qt.MouseButton.LeftButton
            held = button if kind == QEvent.Type.MouseButtonPress else Qt.MouseButton.NoButton
            self.posted = time.perf_counter()
            QCoreApplication.postEvent(widget, QMouseEvent(
                kind, centre, centre, button, held, Qt.KeyboardModifier.NoModifier))

        def eventFilter(self, _watched: QObject, event: QEvent) -> bool:  # noqa: N802
            if event.type() == QEvent.Type.MouseButtonPress:
                self.received = time.perf_counter()
            return False

        def waited_ms(self) -> float:
            return (self.received - self.posted) * 1000

        def release(self, view: object, app: object) -> None:
            self.post(view, QEvent.Type.MouseButtonRelease)
            app.processEvents()  # type: ignore[attr-defined]
            view._rest_timer.stop()  # type: ignore[attr-defined]

    return PressClock


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frames", type=int, default=6)
    parser.add_argument("--size", type=int, default=768)
    parser.add_argument("--only-3d", action="store_true", help="skip the reslice timings")
    parser.add_argument("--press", type=int, default=3,
                        help="presses per preset during full-quality frames (0: skip)")
    args = parser.parse_args()
    lidc = load_series(DATA / "lidc-idri-0314" / "series").volume
    if args.only_3d:
        results = bench_3d(lidc, args.frames, args.size)
        if args.press:
            results.update(bench_press_during_rest(lidc, args.size, args.press))
        for name, value in results.items():
            print(f"{name} {value:.2f}")
        print(f"load_average_1min {os.getloadavg()[0]:.2f}")
        return
    results = bench_reslice(lidc)
    tilt = load_series(DATA / "ge-head-ct-gantry-tilt" / "series").volume
    centre = tilt.index_to_patient(np.array(tilt.shape) / 2)
    start = time.perf_counter()
    plane = anatomical_plane(tilt, "axial", centre)
    results["tilt_true_axial_oblique_ms"] = (time.perf_counter() - start) * 1000
    print(f"tilted head CT true axial plane: {plane.image.shape} px")
    results.update(bench_3d(lidc, args.frames, args.size))
    if args.press:
        results.update(bench_press_during_rest(lidc, args.size, args.press))
    for name, value in results.items():
        print(f"{name} {value:.2f}")
    print(f"load_average_1min {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
