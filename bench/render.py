"""Viewer rendering speed: paging, W/L drag, MPR reslice frames, cold start to a painted window.

Run under Xvfb (what CI and the development machines have; software OpenGL, no GPU):

    xvfb-run -a -s "-screen 0 1280x1024x24" .venv/bin/python bench/render.py

Every frame is forced to paint (``QWidget.repaint()``: synchronous paint and flush to the X
server) in a 768×768 `SliceView` on LIDC-0314 (275 × 512², int16). Reported are medians (and
p95) of the whole frame: plane extraction (reslice), windowing, painting. For reference the
script also times a plain VTK ``vtkImageActor`` frame the same way (the path it replaced).
The last lines are machine-readable, one ``name value`` per line.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
LIDC = REPO.parent / "shared" / "data" / "dicom" / "lidc-idri-0314" / "series"
SIZE = 768

_COLD_START_CHILD = r"""
import sys, time
from PySide6.QtCore import QEvent, QObject, QTimer
from viewer.ui.app import create_app
app = create_app()
from viewer.ui.main_window import MainWindow
from viewer.core.view_state import ViewKind
window = MainWindow()
study = sys.argv[1] if len(sys.argv) > 1 else None
class FirstPaint(QObject):
    def eventFilter(self, obj, event):
        wanted = study is None or window.model.volume is not None
        if event.type() == QEvent.Type.Paint and wanted and not hasattr(self, "seen"):
            self.seen = True
            QTimer.singleShot(0, lambda: (print(f"PAINTED {time.time():.6f}"), app.quit()))
        return False
spy = FirstPaint()
window.grid.views[ViewKind.AXIAL].installEventFilter(spy)
window.show()
if study:
    window.open_path(study)
app.exec()
window.close()
"""


def frame_times(view: object, step: object, frames: int) -> np.ndarray:
    """Seconds per frame of ``step(n)`` followed by a forced synchronous repaint."""
    times = []
    for n in range(frames):
        start = time.perf_counter()
        step(n)
        view.repaint()
        times.append(time.perf_counter() - start)
    return np.array(times[3:])  # the first frames warm caches


def summary(name: str, seconds: np.ndarray) -> float:
    median, p95 = np.median(seconds) * 1000, np.percentile(seconds, 95) * 1000
    print(f"{name:34s} median {median:6.2f} ms   p95 {p95:6.2f} ms   ({seconds.size} frames)")
    return float(median)


def bench_views(volume: object, frames: int) -> dict[str, float]:
    from viewer.core.reslice import extract_plane
    from viewer.core.view_state import ViewerModel, ViewKind
    from viewer.core.windowing import CT_PRESETS
    from viewer.ui.app import create_app
    from viewer.ui.slice_view import SliceView

    app = create_app()
    model = ViewerModel()
    model.set_volume(volume, {"patient": "bench", "study": "bench", "series": "LIDC-0314"})
    model.set_window(CT_PRESETS["lung"])
    views = {}
    for kind in ViewKind:
        view = SliceView(model, kind)
        view.resize(SIZE, SIZE)
        view.show()
        views[kind] = view
    app.processEvents()
    axial = views[ViewKind.AXIAL]
    axial.raise_()
    n_axial = axial.n_slices
    results = {"page": summary("axial paging (512² → 768²)", frame_times(
        axial, lambda n: axial.set_slice(n % n_axial), frames))}
    results["wl"] = summary("axial W/L drag", frame_times(
        axial, lambda n: axial.drag_window(3 if n % 40 < 20 else -3, 2 if n % 20 < 10 else -2), frames))
    mpr = []
    for kind in (ViewKind.CORONAL, ViewKind.SAGITTAL):
        view = views[kind]
        view.raise_()
        count = view.n_slices
        mpr.append(summary(f"{kind} paging (reslice + paint)", frame_times(
            view, lambda n, v=view, c=count: v.set_slice((n * 7) % c), frames)))
        reslice = []
        for n in range(frames):
            start = time.perf_counter()
            extract_plane(volume, str(kind), (n * 7) % count)
            reslice.append(time.perf_counter() - start)
        summary(f"{kind} reslice only", np.array(reslice))
    results["mpr"] = max(mpr)
    for view in views.values():
        view.close()
    return results


def bench_radiograph(path: Path, frames: int) -> float:
    """W/L drag on a large radiograph (shown under half size: block-averaged for display)."""
    from PySide6.QtWidgets import QApplication

    from viewer.core.series_loader import load_series
    from viewer.core.view_state import ViewerModel
    from viewer.ui.slice_view import SliceView

    model = ViewerModel()
    model.set_volume(load_series(path).volume)
    view = SliceView(model)
    view.resize(SIZE, SIZE)
    view.show()
    view.raise_()
    QApplication.processEvents()
    rows, cols = view.geometry.shape
    seconds = frame_times(view, lambda n: view.drag_window(3 if n % 40 < 20 else -3, 2), frames)
    view.close()
    return summary(f"radiograph W/L drag ({cols}×{rows})", seconds)


def bench_vtk_image_actor(volume: object, frames: int) -> float:
    """The reference: a plain vtkImageActor in a 768² vtkRenderWindow, W/L and slice changing."""
    import vtkmodules.vtkInteractionStyle  # noqa: F401
    import vtkmodules.vtkRenderingOpenGL2  # noqa: F401
    from vtkmodules.util.numpy_support import numpy_to_vtk
    from vtkmodules.vtkCommonDataModel import vtkImageData
    from vtkmodules.vtkRenderingCore import vtkImageActor, vtkRenderer, vtkRenderWindow

    window, renderer = vtkRenderWindow(), vtkRenderer()
    window.SetSize(SIZE, SIZE)
    window.AddRenderer(renderer)
    buffer = np.ascontiguousarray(volume.voxels[0])
    image = vtkImageData()
    image.SetDimensions(buffer.shape[1], buffer.shape[0], 1)
    scalars = numpy_to_vtk(buffer.ravel(), deep=False)
    image.GetPointData().SetScalars(scalars)
    actor = vtkImageActor()
    actor.GetMapper().SetInputData(image)
    renderer.AddActor(actor)
    renderer.ResetCamera()
    window.Render()
    times = []
    for n in range(frames):
        start = time.perf_counter()
        buffer[:] = volume.voxels[n % volume.shape[0]]
        scalars.Modified()
        image.Modified()
        actor.GetProperty().SetColorWindow(1500 + n)
        actor.GetProperty().SetColorLevel(-600)
        window.Render()
        times.append(time.perf_counter() - start)
    window.Finalize()
    return summary("reference: vtkImageActor frame", np.array(times[3:]))


def cold_start(runs: int, study: Path | None = None) -> float:
    """Seconds from launching a new Python process to the main window's first paint (with
    ``study``: to the first paint of one of its images)."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    seconds = []
    extra = [str(study)] if study else []
    for _ in range(runs):
        start = time.time()
        out = subprocess.run([sys.executable, "-c", _COLD_START_CHILD, *extra], capture_output=True,
                             text=True, env=env, cwd=REPO, timeout=120)
        painted = [line for line in out.stdout.splitlines() if line.startswith("PAINTED")]
        if not painted:
            raise RuntimeError(f"cold-start child failed: {out.stderr[-2000:]}")
        seconds.append(float(painted[0].split()[1]) - start)
    what = f"first image of {study.name}" if study else "painted main window"
    print(f"cold start to {what}: " + ", ".join(f"{s:.2f}" for s in seconds) + " s")
    return float(np.median(seconds))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=150)
    parser.add_argument("--cold-runs", type=int, default=5)
    parser.add_argument("--series", type=Path, default=LIDC)
    args = parser.parse_args()
    if not os.environ.get("DISPLAY"):
        print("no DISPLAY: run under xvfb-run (see the docstring)")
        return 2
    from viewer.core.series_loader import load_series

    volume = load_series(args.series).volume
    print(f"series: {args.series} {volume.shape}, view {SIZE}×{SIZE}, "
          f"load average {os.getloadavg()[0]:.1f}")
    results = bench_views(volume, args.frames)
    radiograph = LIDC.parents[1] / "pylibjpeg-corpus" / "JPEGLS" / "RG2_JLSN.dcm"
    radiograph_ms = bench_radiograph(radiograph, args.frames) if radiograph.is_file() else float("nan")
    vtk_ms = bench_vtk_image_actor(volume, min(args.frames, 60))
    cold = cold_start(args.cold_runs)
    sample = REPO / "resources" / "sample"
    sample_s = cold_start(args.cold_runs, sample) if sample.is_dir() else float("nan")
    print(f"vtk_image_actor_frame_ms {vtk_ms:.2f}")
    print(f"cold_start_sample_image_s {sample_s:.2f}")
    print(f"radiograph_wl_frame_ms {radiograph_ms:.2f}")
    print(f"page_frame_ms {results['page']:.2f}")
    print(f"wl_frame_ms {results['wl']:.2f}")
    print(f"mpr_reslice_ms {results['mpr']:.2f}")
    print(f"cold_start_s {cold:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
