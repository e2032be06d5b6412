"""Qt-free rendering of a finding over its image: grey slice + explanation heat map + box + score.

The viewer's painter (``viewer.ui.heatmap_overlay``) and the PNG files of ``radsight analyze`` use
the same colour scale (:func:`heat_colours`). Not for diagnostic use.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from ai.findings import Finding
from ai.package import DISCLAIMER
from ai.region_map import ExplanationMap, RegionMap, map_slice
from viewer.core.map_colouring import heat_colours
from viewer.core.volume import Volume

PASSES_COLOUR = (255, 40, 40)
BELOW_COLOUR = (255, 210, 0)


def slice_of(finding: Finding, depth: int) -> int:
    """The slice to show a finding on: its centre, else its map's peak, else the middle."""
    where = finding.center_kji or finding.explanation_peak_kji
    return int(np.clip(round(where[0]), 0, depth - 1)) if where is not None else depth // 2


def grey_slice(volume: Volume, k: int) -> np.ndarray:
    """One slice as 0..255 float, through the volume's default window (percentiles without one)."""
    plane = volume.voxels[k].astype(np.float32)
    if volume.default_window is not None:
        lo, hi = volume.default_window.lower, volume.default_window.upper
    else:
        lo, hi = (float(v) for v in np.percentile(plane, [1, 99]))
    grey = np.clip((plane - lo) / max(hi - lo, 1e-6), 0, 1)
    return (1.0 - grey if volume.display_inverted else grey) * 255.0


def overlay_rgb(volume: Volume, k: int, heat: ExplanationMap | None) -> np.ndarray:
    """Slice ``k`` in grey with the heat map blended in (alpha grows with heat), (H, W, 3) uint8."""
    rgb = np.repeat(grey_slice(volume, k)[..., None], 3, axis=2)
    if heat is not None:
        plane = map_slice(heat, k)
        alpha = 0.5 * np.clip(plane, 0, 1)[..., None]
        rgb = rgb * (1 - alpha) + heat_colours(plane) * alpha
    return rgb.astype(np.uint8)


def finding_image(volume: Volume, finding: Finding, heat: ExplanationMap | None) -> Image.Image:
    """The finding's slice with its own heat map, its box and its score written on it (red when
    marked, yellow otherwise)."""
    k = slice_of(finding, volume.shape[0])
    image = Image.fromarray(overlay_rgb(volume, k, heat), "RGB")
    draw = ImageDraw.Draw(image)
    colour = PASSES_COLOUR if finding.marked else BELOW_COLOUR
    if finding.box_kji is not None and finding.box_kji[0] <= k < finding.box_kji[3]:
        _, j0, i0, _, j1, i1 = finding.box_kji
        draw.rectangle([i0, j0, max(i0, i1 - 1), max(j0, j1 - 1)], outline=colour, width=2)
    draw.text((4, 4), f"{finding.label} {finding.score:.2f} (slice {k + 1}/{volume.shape[0]}) - {DISCLAIMER}",
              fill=colour)
    return image


def write_overlay(path: Path, volume: Volume, finding: Finding, heat: ExplanationMap | None) -> None:
    """:func:`finding_image` saved as a PNG."""
    finding_image(volume, finding, heat).save(path)


def write_map(path: Path, heat: ExplanationMap) -> str:
    """The map's numbers as ``.npz``: ``values`` (float32 [0, 1]) placed at voxel ``start`` (k, j, i) of
    a grid of ``grid_shape`` (a whole-image map starts at 0); ``cells_mm`` its own resolution where
    known. Returns the file name."""
    if isinstance(heat, RegionMap):
        cells = np.asarray(heat.cells_mm if heat.cells_mm else (np.nan,) * 3, np.float32)
        np.savez_compressed(path, values=heat.values, start=np.asarray(heat.start), cells_mm=cells,
                            grid_shape=np.asarray(heat.grid_shape))
    else:
        values = np.asarray(heat, np.float32)
        np.savez_compressed(path, values=values, start=np.zeros(3, int), cells_mm=np.full(3, np.nan),
                            grid_shape=np.asarray(values.shape))
    return path.name
