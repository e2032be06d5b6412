"""The gantry-tilted GE head CT (18.5°, slice gaps 1.1–7 mm) in the real main window: it must
be shown on its true geometry. Checked by sampling what the MPR views show at the patient
positions of pixels read straight from the acquired files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest

from viewer.core.measurements import sample_bilinear
from viewer.core.view_state import ViewKind

from .viewer_helpers import grab_screen, open_window, read_label, save, to_array

pytestmark = pytest.mark.gui


@pytest.fixture()
def ge_dir(dicom_data: Path) -> Path:
    path = dicom_data / "ge-head-ct-gantry-tilt" / "series"
    if not path.is_dir():
        pytest.skip(f"GE tilted head CT not found at {path}")
    return path


def acquired_edge_points(files: list[Path], per_file: int = 50) -> tuple[np.ndarray, np.ndarray]:
    """LPS positions and HU of pixels on tissue edges, from the files' own IPP/IOP."""
    rng = np.random.default_rng(0)
    points, values = [], []
    for file in files:
        ds = pydicom.dcmread(file)
        hu = ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
        gy, gx = np.gradient(hu)
        rows, cols = np.nonzero((np.hypot(gx, gy) > 100) & (hu > -200))
        pick = rng.choice(rows.size, per_file, replace=False)
        iop = np.array(ds.ImageOrientationPatient, float)
        ipp = np.array(ds.ImagePositionPatient, float)
        dr, dc = (float(v) for v in ds.PixelSpacing)
        for r, c in zip(rows[pick], cols[pick], strict=True):
            points.append(ipp + c * dc * iop[:3] + r * dr * iop[3:])
            values.append(hu[r, c])
    return np.array(points), np.array(values)


def shown_at(window: object, view: object, points: np.ndarray) -> np.ndarray:
    """What ``view`` displays at each LPS point (moving the shared cursor there first)."""
    volume, out = window.model.volume, []
    for point in points:
        window.model.set_cursor(volume.patient_to_index(point))
        row, col, _ = view.geometry.locate(point)
        out.append(sample_bilinear(view.plane(), np.array([row]), np.array([col]))[0])
    return np.array(out)


def test_tilted_head_ct_on_true_geometry(qtbot, tmp_path, ge_dir, output_dir) -> None:
    window = open_window(qtbot, tmp_path, ge_dir, layout="2x2")
    volume = window.model.volume
    assert volume.resampled and any("tilt" in w for w in volume.warnings)
    assert np.allclose(volume.direction.T @ volume.direction, np.eye(3), atol=1e-6)  # orthonormal grid
    files = sorted(ge_dir.glob("*.dcm"))[4:24:4]
    points, acquired = acquired_edge_points(files)
    for kind in (ViewKind.SAGITTAL, ViewKind.CORONAL):
        view = window.grid.views[kind]
        metric = view.geometry.metric
        assert abs(np.dot(metric.row_step, metric.col_step)) < 1e-6  # square pixels on screen are square
        shown = shown_at(window, view, points)
        assert np.corrcoef(acquired, shown)[0, 1] > 0.95, kind  # a sheared display gives ~0.15
        assert np.median(np.abs(acquired - shown)) < 80, kind

    window.model.set_cursor(np.array(volume.shape) // 2)
    qtbot.waitUntil(lambda: window.grid.view_3d.scene.volume is volume, timeout=30_000)
    screenshot = grab_screen(window)
    save(screenshot, output_dir, "ge_tilted_head_ct_2x2.png")
    sagittal = window.grid.views[ViewKind.SAGITTAL]
    pixels = to_array(grab_screen(sagittal))
    save(grab_screen(sagittal), output_dir, "ge_tilted_head_ct_sagittal.png")
    assert read_label(pixels, sagittal, "top", ["S", "SP", "SA", "P"]) == "SP"  # tilted: oblique letters
    assert read_label(pixels, sagittal, "left", ["A", "AS", "AI", "S"]) == "AS"
    axial = window.grid.views[ViewKind.AXIAL]
    axial_pixels = to_array(grab_screen(axial))
    assert read_label(axial_pixels, axial, "left", ["R", "L", "RA"]) == "R"
    assert read_label(axial_pixels, axial, "top", ["A", "AS", "AI", "S"]) == "AS"
