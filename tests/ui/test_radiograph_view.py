"""Radiographs in the real main window: fit to window, W/L from the file's VOI, MONOCHROME1,
measurements in mm (or px without spacing). Screenshots in test-output/, checked by pixels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

from viewer.core.view_state import Tool, ViewKind
from viewer.ui.slice_annotations import corner_lines, edge_labels

from .viewer_helpers import drag, grab_screen, open_window, save, to_array, view_point

pytestmark = pytest.mark.gui

CR_MONOCHROME1 = "pylibjpeg-corpus/JPEG2000Lossless/RG3_J2KR.dcm"  # CR, no pixel spacing
CR_MONOCHROME2 = "pylibjpeg-corpus/JPEGLS/RG2_JLSN.dcm"  # CR, 0.2 mm pixels


def _file(dicom_data: Path, relative: str) -> Path:
    path = dicom_data / relative
    if not path.is_file():
        pytest.skip(f"{path} not found")
    return path


def _grey_over(pixels: np.ndarray, view: object, plane: np.ndarray, low: float, high: float) -> float:
    rows, cols = np.nonzero((plane >= low) & (plane <= high))
    pick = np.random.default_rng(0).choice(rows.size, size=min(400, rows.size), replace=False)
    xy = np.array([view.transform().to_screen(r, c) for r, c in zip(rows[pick], cols[pick], strict=True)])
    xy = np.clip(xy.round().astype(int), 0, [pixels.shape[1] - 1, pixels.shape[0] - 1])
    return float(pixels[xy[:, 1], xy[:, 0]].mean())


def _assert_fits(view: object) -> None:
    """The whole image is visible and touches two opposite sides of the view (fit to window)."""
    t, (rows, cols) = view.transform(), view.geometry.shape
    left, top, right, bottom = t.x0, t.y0, t.x0 + cols * t.sx, t.y0 + rows * t.sy
    assert left >= -0.5 and top >= -0.5 and right <= view.width() + 0.5 and bottom <= view.height() + 0.5
    assert min(abs(right - left - view.width()), abs(bottom - top - view.height())) < 1.0


def test_cr_monochrome1_with_voi_window(qtbot, tmp_path, dicom_data, output_dir) -> None:
    window = open_window(qtbot, tmp_path, _file(dicom_data, CR_MONOCHROME1))
    view = window.grid.views[ViewKind.AXIAL]
    volume = window.model.volume
    assert volume.is_2d and volume.modality == "CR"
    assert (window.model.window.center, window.model.window.width) == (550.0, 1024.0)  # VOI from the file
    assert window.model.invert  # MONOCHROME1: high values are dark
    _assert_fits(view)
    screenshot = grab_screen(view)
    save(screenshot, output_dir, "radiograph_cr_monochrome1.png")
    pixels, plane = to_array(screenshot), view.plane().astype(float)
    assert _grey_over(pixels, view, plane, 900, 1100) < 60  # dense (high) values shown dark...
    assert _grey_over(pixels, view, plane, 0, 60) > 200  # ...and the low ones bright
    assert edge_labels(view) == {"top": "", "bottom": "", "left": "", "right": ""}  # no geometry
    assert any("(inv)" in line for line in corner_lines(view)["bottom_left"])

    qtbot.keyClick(view, Qt.Key.Key_I)  # the reader can still invert
    assert not window.model.invert
    window.tool_actions[Tool.DISTANCE].trigger()
    drag(qtbot, view, view_point(view, 800, 400), view_point(view, 800, 1000))
    (distance,) = list(window.model.measurements)
    assert distance.result.unit == "px" and abs(distance.result.length - 600) < 6


def test_cr_monochrome2_measures_in_mm(qtbot, tmp_path, dicom_data, output_dir) -> None:
    window = open_window(qtbot, tmp_path, _file(dicom_data, CR_MONOCHROME2))
    view = window.grid.views[ViewKind.AXIAL]
    assert not window.model.invert
    assert (window.model.window.center, window.model.window.width) == (511.0, 1024.0)
    assert set(edge_labels(view).values()) == {""}  # a projection: no letters from cosines
    _assert_fits(view)
    qtbot.keyClick(view, Qt.Key.Key_2)  # automatic window (second preset for X-ray)
    assert window.model.window.name == "auto"
    window.tool_actions[Tool.DISTANCE].trigger()
    drag(qtbot, view, view_point(view, 1000, 300), view_point(view, 1000, 1300))
    (distance,) = list(window.model.measurements)
    assert distance.result.unit == "mm" and abs(distance.result.length - 200) < 2  # 1000 px × 0.2 mm
    screenshot = grab_screen(view)
    save(screenshot, output_dir, "radiograph_cr_monochrome2_distance.png")
    pixels = to_array(screenshot)
    assert pixels.std() > 20  # an image, not a blank


def test_fracatlas_jpeg_without_geometry(qtbot, tmp_path, shared_data, output_dir) -> None:
    folder = shared_data / "labelled" / "fracatlas" / "images" / "Fractured"
    files = sorted(folder.glob("*.jpg"))[:1] if folder.is_dir() else []
    if not files:
        pytest.skip(f"no FracAtlas JPEG under {folder}")
    window = open_window(qtbot, tmp_path, files[0])
    view = window.grid.views[ViewKind.AXIAL]
    volume = window.model.volume
    assert volume.is_2d and not volume.has_geometry and not window.model.invert
    _assert_fits(view)
    assert set(edge_labels(view).values()) == {""}
    window.tool_actions[Tool.DISTANCE].trigger()
    drag(qtbot, view, view_point(view, 100, 50), view_point(view, 100, 250))
    (distance,) = list(window.model.measurements)
    assert distance.result.unit == "px" and abs(distance.result.length - 200) < 3
    screenshot = grab_screen(view)
    save(screenshot, output_dir, "radiograph_fracatlas_jpeg.png")
    pixels, plane = to_array(screenshot), view.plane().astype(float)
    assert _grey_over(pixels, view, plane, 200, 255) > _grey_over(pixels, view, plane, 0, 40) + 100
