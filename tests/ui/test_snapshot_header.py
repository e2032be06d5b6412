"""`radsight snapshot` shows what the viewer's corners show (patient, study date, series) and
`snapshot --analyze` carries "NOT FOR DIAGNOSTIC USE" readably (contrast from the pixels), without
covering the bottom orientation letter; the heat map's colour bar leaves the right letter readable."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
from PySide6.QtGui import QImage

from viewer.cli import main
from viewer.ui.disclaimer_stamp import STAMP_BACKGROUND, stamp_rect
from viewer.ui.heatmap_overlay import colour_bar_rect
from viewer.ui.slice_annotations import label_places

from .test_ai_workflow import require_model
from .test_screen_controls import text_contrast
from .viewer_helpers import label_mask, read_label, to_array

SIZE = 500


def text_rows(pixels: np.ndarray) -> np.ndarray:
    """Rows of the top-left corner (first 170 columns) that hold light corner text."""
    corner = pixels[:60, 8:170].astype(int)
    light = (corner.min(axis=-1) > 150) & (np.ptp(corner, axis=-1) < 40)
    return np.flatnonzero(light.any(axis=1))


def test_snapshot_corner_has_patient_study_date_and_series(lidc_dir: Path, output_dir: Path) -> None:
    out = output_dir / "snapshot-header.png"
    size = f"{SIZE}x{SIZE}"
    assert main(["snapshot", str(lidc_dir), "--out", str(out), "--size", size, "--slice", "161"]) == 0
    rows = text_rows(to_array(QImage(str(out))))
    assert rows.size and rows.max() > 35  # three lines (patient · sex, 2000-01-01, series), not one


def test_snapshot_analyze_carries_the_disclaimer(lidc_dir: Path, output_dir: Path) -> None:
    require_model("nodule-ct")
    out = output_dir / "snapshot-analyze-disclaimer.png"
    assert main(["snapshot", str(lidc_dir), "--out", str(out), "--size", f"{SIZE}x{SIZE}", "--preset", "lung",
                 "--analyze"]) == 0
    pixels = to_array(QImage(str(out)))
    rect = stamp_rect(SIZE, SIZE, 10).toRect()  # (its rows; the width depends on the font)
    band = pixels[rect.top() + 1:rect.bottom(), 100:400]
    red = np.array([STAMP_BACKGROUND.red(), STAMP_BACKGROUND.green(), STAMP_BACKGROUND.blue()])
    is_red = np.abs(band.astype(int) - red).sum(axis=-1) < 20
    assert is_red.sum() > 1000
    stamp = band[:, is_red.any(axis=0)]
    assert text_contrast(stamp) >= 4.5
    letter, _ = label_places(SIZE, SIZE)["bottom"]
    assert rect.bottom() < letter.top()  # above the bottom orientation letter
    view = SimpleNamespace(width=lambda: SIZE, height=lambda: SIZE)
    assert read_label(pixels, view, "bottom", "LRAP") == "P"  # the stamp leaves it readable
    bar = colour_bar_rect(SIZE, SIZE).toRect()
    box = label_places(SIZE, SIZE)["right"][0].toRect()
    assert not bar.adjusted(-10, -4, 3, 4).intersects(box)  # the bar and its backing miss the letter
    letter = pixels[box.top():box.bottom(), box.left():box.right()]
    assert label_mask(letter).sum() > 20  # the letter is painted there (it lies over the body here,
    saturated = np.ptp(letter.astype(int), axis=-1) > 120  # so its glyph match is loose) and no
    assert (saturated & ~label_mask(letter)).sum() == 0  # colour-bar colours are in its box
