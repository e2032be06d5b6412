"""ROC/FROC PNGs: real files, axes drawn, the curve's colour where the curve runs, the operating point."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from ai.validation import plots


def _near(image: Image.Image, xy: tuple[float, float], colour: tuple[int, int, int], radius: int = 2) -> bool:
    px = np.asarray(image.convert("RGB"), dtype=int)
    x, y = round(xy[0]), round(xy[1])
    patch = px[y - radius:y + radius + 1, x - radius:x + radius + 1]
    return bool(np.any(np.all(np.abs(patch - np.array(colour)) <= 30, axis=-1)))


def test_roc_plot_draws_curve_axes_and_point(tmp_path: Path, output_dir: Path) -> None:
    # A step ROC: up to tpr 0.6 at fpr 0, across to fpr 0.4, up to 1.0, across to fpr 1.
    fpr, tpr = [0, 0, 0.4, 0.4, 1.0], [0, 0.6, 0.6, 1.0, 1.0]
    path = plots.roc_plot(tmp_path / "roc.png", fpr, tpr, auc=0.84, operating_point=(0.4, 0.6))
    plots.roc_plot(output_dir / "validation-roc-example.png", fpr, tpr, auc=0.84, operating_point=(0.4, 0.6))
    image = Image.open(path)
    assert image.format == "PNG" and image.size == (plots.WIDTH, plots.HEIGHT)
    frame = plots.Frame(x_range=(0.0, 1.0))
    # Midpoints of the curve's horizontal runs are curve-coloured; points well off the curve are not.
    assert _near(image, frame.to_pixel(0.2, 0.6), plots.CURVE)
    assert _near(image, frame.to_pixel(0.7, 1.0), plots.CURVE)
    assert not _near(image, frame.to_pixel(0.7, 0.3), plots.CURVE)
    assert not _near(image, frame.to_pixel(0.2, 0.9), plots.CURVE)
    # The operating point's ring (radius 6 px) passes 6 px right of its centre.
    cx, cy = frame.to_pixel(0.4, 0.6)
    assert _near(image, (cx + 6, cy), plots.POINT, radius=1)
    # Axes: the frame's bottom-right corner is black; ink in the tick-label band below the x axis.
    assert _near(image, (frame.right, frame.bottom), plots.AXIS, radius=0)
    band = np.asarray(image.convert("L"))[frame.bottom + 8:frame.bottom + 25, frame.left:frame.right]
    assert (band < 128).sum() > 50


def test_froc_plot_log_axis(tmp_path: Path) -> None:
    # Sensitivity 0.5 from 1/4 to 2 FP/scan, then 0.75 at 4 FP/scan.
    fps, sens = [0, 0.25, 2.0, 4.0], [0, 0.5, 0.5, 0.75]
    path = plots.froc_plot(tmp_path / "froc.png", fps, sens, cpm=0.5, operating_point=(2.0, 0.5))
    image = Image.open(path)
    frame = plots.Frame(x_range=plots.FROC_X_RANGE, log_x=True)
    # On a log2 axis 1 FP/scan lies halfway between 1/4 and 4 (in pixels), where the run at 0.5 passes.
    left, right, mid = frame.to_pixel(0.25, 0.5), frame.to_pixel(4, 0.5), frame.to_pixel(1.0, 0.5)
    assert abs(mid[0] - (left[0] + right[0]) / 2) < 1e-6
    assert _near(image, mid, plots.CURVE)
    assert not _near(image, frame.to_pixel(1.0, 0.8), plots.CURVE)
    # 0 FP sits on the left edge (log axis): the curve starts there at sensitivity 0.
    assert _near(image, (frame.left, frame.bottom - 3), plots.CURVE)
