"""ROC and FROC plots as PNG, drawn with Pillow alone (axes, ticks, labels, curve, operating point).

:class:`Frame` maps data coordinates to pixels (linear, or log2 on x for FROC); tests use it to look
for the curve's colour where the curve must be.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

WIDTH, HEIGHT = 640, 520
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 80, 30, 50, 70
BACKGROUND = (255, 255, 255)
AXIS = (0, 0, 0)
GRID = (225, 225, 225)
CHANCE = (150, 150, 150)
CURVE = (31, 119, 180)
POINT = (214, 39, 40)
FROC_X_RANGE = (1 / 16, 16.0)
FROC_TICKS = (0.125, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0)


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # Pillow without FreeType: the fixed bitmap font
        return ImageFont.load_default()


@dataclass(frozen=True)
class Frame:
    """The plotting area and the data → pixel mapping (``log_x``: log2 scale on x)."""

    x_range: tuple[float, float]
    y_range: tuple[float, float] = (0.0, 1.0)
    log_x: bool = False
    left: int = MARGIN_LEFT
    top: int = MARGIN_TOP
    right: int = WIDTH - MARGIN_RIGHT
    bottom: int = HEIGHT - MARGIN_BOTTOM

    def _fx(self, x: float) -> float:
        lo, hi = self.x_range
        if self.log_x:
            x = min(max(x, lo), hi)
            return (math.log2(x) - math.log2(lo)) / (math.log2(hi) - math.log2(lo))
        return (x - lo) / (hi - lo)

    def to_pixel(self, x: float, y: float) -> tuple[float, float]:
        """Pixel (column, row) of data point (x, y); x below a log axis' range sits on its left edge."""
        fy = (y - self.y_range[0]) / (self.y_range[1] - self.y_range[0])
        return (self.left + self._fx(x) * (self.right - self.left),
                self.bottom - fy * (self.bottom - self.top))


def _centered(draw: ImageDraw.ImageDraw, xy: tuple[float, float], text: str, font, anchor: str) -> None:
    draw.text(xy, text, fill=AXIS, font=font, anchor=anchor)


def _draw_axes(image: Image.Image, frame: Frame, x_ticks: Sequence[float], x_labels: Sequence[str],
               titles: tuple[str, str, str]) -> None:
    draw = ImageDraw.Draw(image)
    small, big = _font(13), _font(16)
    for x, label in zip(x_ticks, x_labels, strict=True):
        px, _ = frame.to_pixel(x, 0)
        draw.line([(px, frame.top), (px, frame.bottom)], fill=GRID)
        draw.line([(px, frame.bottom), (px, frame.bottom + 5)], fill=AXIS)
        _centered(draw, (px, frame.bottom + 8), label, small, "mt")
    for y in np.linspace(0, 1, 6):
        _, py = frame.to_pixel(frame.x_range[0], y)
        draw.line([(frame.left, py), (frame.right, py)], fill=GRID)
        draw.line([(frame.left - 5, py), (frame.left, py)], fill=AXIS)
        _centered(draw, (frame.left - 8, py), f"{y:.1f}", small, "rm")
    draw.rectangle([frame.left, frame.top, frame.right, frame.bottom], outline=AXIS, width=1)
    x_title, y_title, title = titles
    _centered(draw, ((frame.left + frame.right) / 2, frame.bottom + 32), x_title, big, "mt")
    _centered(draw, ((frame.left + frame.right) / 2, frame.top - 14), title, big, "mb")
    _draw_vertical_text(image, y_title, big, (22, (frame.top + frame.bottom) / 2))


def _draw_vertical_text(image: Image.Image, text: str, font, centre: tuple[float, float]) -> None:
    """Draw ``text`` rotated 90° (reading bottom to top) centred at ``centre``."""
    box = font.getbbox(text)
    label = Image.new("L", (box[2] + 4, box[3] + 4), 0)
    ImageDraw.Draw(label).text((2, 2), text, fill=255, font=font)
    label = label.rotate(90, expand=True)
    target = Image.new("RGB", label.size, AXIS)
    x, y = int(centre[0] - label.width / 2), int(centre[1] - label.height / 2)
    image.paste(target, (x, y), label)


def _draw_curve(draw: ImageDraw.ImageDraw, frame: Frame, xs: np.ndarray, ys: np.ndarray) -> None:
    keep = np.isfinite(xs) & np.isfinite(ys)
    points = [frame.to_pixel(float(x), float(y)) for x, y in zip(xs[keep], ys[keep], strict=True)]
    if len(points) >= 2:
        draw.line(points, fill=CURVE, width=3, joint="curve")
    elif points:
        draw.ellipse([points[0][0] - 2, points[0][1] - 2, points[0][0] + 2, points[0][1] + 2], fill=CURVE)


def _draw_point(draw: ImageDraw.ImageDraw, frame: Frame, point: tuple[float, float] | None,
                label: str) -> None:
    if point is None or not all(math.isfinite(v) for v in point):
        return
    px, py = frame.to_pixel(*point)
    draw.ellipse([px - 6, py - 6, px + 6, py + 6], outline=POINT, width=3)
    draw.text((px + 10, py + 4), label, fill=POINT, font=_font(13), anchor="lt")


def _new_canvas() -> tuple[Image.Image, ImageDraw.ImageDraw]:
    image = Image.new("RGB", (WIDTH, HEIGHT), BACKGROUND)
    return image, ImageDraw.Draw(image)


def roc_plot(path: str | Path, fpr: Sequence[float], tpr: Sequence[float], auc: float | None = None,
             operating_point: tuple[float, float] | None = None, title: str = "ROC") -> Path:
    """Write a ROC plot (sensitivity vs 1 - specificity); ``operating_point`` is (fpr, tpr)."""
    image, draw = _new_canvas()
    frame = Frame(x_range=(0.0, 1.0))
    ticks = list(np.linspace(0, 1, 6))
    heading = title if auc is None or math.isnan(auc) else f"{title}  (AUC {auc:.3f})"
    _draw_axes(image, frame, ticks, [f"{t:.1f}" for t in ticks], ("1 - specificity", "Sensitivity", heading))
    draw.line([frame.to_pixel(0, 0), frame.to_pixel(1, 1)], fill=CHANCE, width=1)
    _draw_curve(draw, frame, np.asarray(fpr, float), np.asarray(tpr, float))
    if operating_point is not None:
        label = f"sens {operating_point[1]:.2f}, spec {1 - operating_point[0]:.2f}"
        _draw_point(draw, frame, operating_point, label)
    return _save(image, path)


def froc_plot(path: str | Path, fp_per_scan: Sequence[float], sensitivity: Sequence[float],
              cpm: float | None = None, operating_point: tuple[float, float] | None = None,
              title: str = "FROC") -> Path:
    """Write a FROC plot (lesion sensitivity vs false positives per scan, log2 x axis 1/16..16)."""
    image, draw = _new_canvas()
    frame = Frame(x_range=FROC_X_RANGE, log_x=True)
    labels = [f"{t:g}" if t >= 1 else f"1/{round(1 / t)}" for t in FROC_TICKS]
    heading = title if cpm is None or math.isnan(cpm) else f"{title}  (CPM {cpm:.3f})"
    _draw_axes(image, frame, FROC_TICKS, labels, ("False positives per scan", "Lesion sensitivity", heading))
    _draw_curve(draw, frame, np.asarray(fp_per_scan, float), np.asarray(sensitivity, float))
    if operating_point is not None:
        label = f"{operating_point[0]:.2f} FP/scan, sens {operating_point[1]:.2f}"
        _draw_point(draw, frame, operating_point, label)
    return _save(image, path)


def _save(image: Image.Image, path: str | Path) -> Path:
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    image.save(out, format="PNG")
    return out
