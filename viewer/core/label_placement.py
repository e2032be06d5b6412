"""Where to put a text label on an image so that it hides nothing: not over another label or
drawn shape, not over bright image content (a burned-in marker such as "L Wrist", bone), and
inside the view. Qt-free: boxes are ``(x, y, width, height)`` in screen pixels.

``candidates_around(anchor, size, gap)`` — positions right, left, below and above a box;
``best_place(candidates, taken, brightness=None, bounds=None)`` — the candidate that overlaps
the taken boxes least, then sits on the darkest pixels (``brightness(box)`` in 0…1), inside
``bounds``; ties keep the order of ``candidates`` (the conventional place first).
``BrightnessMap(grey, to_plane)`` — ``brightness(box)`` from a displayed plane: the fraction of
bright pixels under a screen box (outside the image counts as dark: the view is black there).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

Box = tuple[float, float, float, float]
#: A pixel this bright (0…1 of the plane's robust range) counts as image content a label hides.
BRIGHT_LEVEL = 0.6
_OVERLAP_WEIGHT = 10.0
_OUTSIDE_WEIGHT = 5.0
_NEAR_COUNT = 6  # the first ring of candidates_around; the outer ring costs a little more
_FAR_COST = 0.05


def intersection(a: Box, b: Box) -> float:
    """Area shared by two boxes."""
    w = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    h = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    return max(w, 0.0) * max(h, 0.0)


def candidates_around(anchor: Box, size: tuple[float, float], gap: float = 6.0) -> list[Box]:
    """Label boxes of ``size`` beside ``anchor``: right (top-aligned), left, below, above, the
    right and left sides bottom-aligned; then the same a label's height further out."""
    x, y, w, h = anchor
    lw, lh = size
    out = []
    for g in (gap, gap + lh):
        out += [(x + w + g, y, lw, lh), (x - g - lw, y, lw, lh), (x, y + h + g, lw, lh),
                (x, y - g - lh, lw, lh), (x + w + g, y + h - lh, lw, lh), (x - g - lw, y + h - lh, lw, lh)]
    return out


def _outside(box: Box, bounds: Box) -> float:
    """Fraction of ``box`` outside ``bounds``."""
    area = box[2] * box[3]
    return 1.0 - intersection(box, bounds) / area if area > 0 else 0.0


def best_place(candidates: Sequence[Box], taken: Sequence[Box],
               brightness: Callable[[Box], float] | None = None, bounds: Box | None = None) -> Box:
    """The candidate that hides least (see the module docstring)."""
    def cost(box: Box) -> float:
        area = max(box[2] * box[3], 1.0)
        covered = sum(intersection(box, other) for other in taken) / area
        outside = _outside(box, bounds) if bounds is not None else 0.0
        bright = brightness(box) if brightness is not None else 0.0
        return _OVERLAP_WEIGHT * covered + _OUTSIDE_WEIGHT * outside + bright

    costs = [cost(box) + _FAR_COST * (n >= _NEAR_COUNT) for n, box in enumerate(candidates)]
    return candidates[int(np.argmin(costs))]


class BrightnessMap:
    """Bright-pixel fraction under screen boxes of a displayed plane.

    ``grey`` is the plane as shown (any numeric array, rows × cols); ``to_plane(x, y)`` maps a
    screen point to plane (row, col). Levels are relative to the plane's 1st–99.5th percentile,
    so the test does not depend on the window the reader chose."""

    def __init__(self, plane: np.ndarray, to_plane: Callable[[float, float], tuple[float, float]]) -> None:
        values = np.asarray(plane, dtype=np.float32)
        step = max(1, int(np.sqrt(values.size / 250_000)))
        low, high = np.percentile(values[::step, ::step], (1.0, 99.5))
        self.bright = values >= low + BRIGHT_LEVEL * max(float(high - low), 1e-6)
        self.to_plane = to_plane

    def __call__(self, box: Box) -> float:
        x, y, w, h = box
        (r0, c0), (r1, c1) = self.to_plane(x, y), self.to_plane(x + w, y + h)
        rows, cols = self.bright.shape
        r_lo, r_hi = sorted((r0, r1))
        c_lo, c_hi = sorted((c0, c1))
        area = max((r_hi - r_lo) * (c_hi - c_lo), 1e-6)
        rs, re = int(np.clip(np.floor(r_lo), 0, rows)), int(np.clip(np.ceil(r_hi), 0, rows))
        cs, ce = int(np.clip(np.floor(c_lo), 0, cols)), int(np.clip(np.ceil(c_hi), 0, cols))
        if rs >= re or cs >= ce:
            return 0.0  # outside the image: black, nothing hidden
        inside = self.bright[rs:re, cs:ce]
        return float(inside.sum()) / max(area, float(inside.size))
