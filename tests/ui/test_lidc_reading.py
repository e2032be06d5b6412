"""Reading LIDC-0314 in the real main window under Xvfb: paging, presets, W/L, labels,
measurements on the nodule, ROIs in lung and aorta, and synchronised crosshairs.

Screenshots go to test-output/ and are checked by their pixels.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication

from viewer.core.view_state import Tool, ViewKind
from viewer.core.windowing import CT_PRESETS, apply_window
from viewer.ui.main_window import MainWindow
from viewer.ui.slice_annotations import corner_lines
from viewer.ui.slice_view import VIEW_COLOURS, SliceView
from viewer.ui.snapshot_render import slice_at_mm

from .viewer_helpers import (
    drag,
    grab_screen,
    nodule_contours,
    open_window,
    read_label,
    save,
    to_array,
    view_point,
    wheel,
)

pytestmark = pytest.mark.gui

#: Plane (row, col) boxes on the nodule slice (z = -521.8 mm), chosen by looking at the slice:
#: aerated left lung (screen right), and the ascending aorta beside the carina.
LUNG_BOX = ((285, 345), (315, 375))
AORTA_BOX = ((238, 261), (252, 275))


@pytest.fixture()
def nodule(lidc_dir: Path) -> tuple[float, list[np.ndarray]]:
    """z (mm) of the slice where the readers' contours are largest, and those contours."""
    contours = nodule_contours(lidc_dir.parent / "annotations")
    z = max(contours, key=lambda zz: max(np.ptp(c[:, 0]) for c in contours[zz]))
    return z, contours[z]


def page_to(qtbot: object, view: SliceView, target: int) -> None:
    """Page with the keyboard, as a reader does: PgUp/PgDn by ten, then arrows."""
    view.setFocus()
    delta = target - view.slice_index
    tens, ones = divmod(abs(delta), 10)
    down = delta > 0
    for _ in range(tens):
        qtbot.keyClick(view, Qt.Key.Key_PageDown if down else Qt.Key.Key_PageUp)
    for _ in range(ones):
        qtbot.keyClick(view, Qt.Key.Key_Down if down else Qt.Key.Key_Up)


def screen_grey(pixels: np.ndarray, view: SliceView, points: np.ndarray) -> np.ndarray:
    """Grey level on screen over plane pixels ``points`` (N, 2) rows/cols."""
    xy = np.array([view.transform().to_screen(r, c) for r, c in points]).round().astype(int)
    return pixels[xy[:, 1], xy[:, 0]].mean(axis=-1)


def homogeneous_points(plane: np.ndarray, low: float, high: float, n: int = 300) -> np.ndarray:
    """Plane pixels whose 5×5 neighbourhood is all within [low, high] (robust to smoothing)."""
    inside = (plane >= low) & (plane <= high)
    ok = inside.copy()
    for dr in range(-2, 3):
        for dc in range(-2, 3):
            ok &= np.roll(np.roll(inside, dr, 0), dc, 1)
    rows, cols = np.nonzero(ok)
    pick = np.random.default_rng(0).choice(rows.size, size=min(n, rows.size), replace=False)
    return np.column_stack([rows[pick], cols[pick]])


def open_at_nodule(qtbot: object, tmp_path: Path, lidc_dir: Path, z: float,
                   layout: str = "1x1") -> tuple[MainWindow, SliceView]:
    window = open_window(qtbot, tmp_path, lidc_dir, layout)
    view = window.grid.views[ViewKind.AXIAL]
    page_to(qtbot, view, slice_at_mm(window.model, ViewKind.AXIAL, z))
    return window, view


def test_page_presets_window_level_and_labels(qtbot, tmp_path, lidc_dir, output_dir, nodule) -> None:
    z, _ = nodule
    window, view = open_at_nodule(qtbot, tmp_path, lidc_dir, z)
    assert window.model.volume.shape == (275, 512, 512)
    assert f"Z: {z:.1f} mm" in corner_lines(view)["top_right"]
    plane = view.plane().astype(float)
    qtbot.waitUntil(lambda: hasattr(window, "tags") and window.tags.path is not None)
    qtbot.waitUntil(lambda: any(r[1] == "Image Position (Patient)" and f"{z:.1f}"[:6] in r[3]
                                for r in window.tags.browser.visible_rows()), timeout=5_000)

    qtbot.keyClick(view, Qt.Key.Key_2)  # mediastinum
    assert window.model.window == CT_PRESETS["mediastinum"]
    mediastinum = to_array(grab_screen(view))
    save(grab_screen(view), output_dir, "lidc_axial_mediastinum.png")
    qtbot.keyClick(view, Qt.Key.Key_1)  # lung
    assert window.model.window == CT_PRESETS["lung"]
    lung = to_array(grab_screen(view))
    save(grab_screen(view), output_dir, "lidc_axial_lung_nodule_slice.png")

    aerated = homogeneous_points(plane, -950, -750)
    soft = homogeneous_points(plane, 0, 80)
    assert screen_grey(mediastinum, view, aerated).mean() < 10  # lung is black in a soft-tissue window
    assert 40 < screen_grey(lung, view, aerated).mean() < 140  # and grey in the lung window
    assert screen_grey(lung, view, soft).mean() > screen_grey(mediastinum, view, soft).mean() + 60
    for pixels, preset in ((mediastinum, "mediastinum"), (lung, "lung")):
        expected = apply_window(plane[tuple(soft.T)], CT_PRESETS[preset]).astype(float)
        assert np.median(np.abs(screen_grey(pixels, view, soft) - expected)) < 8

    assert read_label(lung, view, "top", "AP") == "A"
    assert read_label(lung, view, "bottom", "AP") == "P"
    assert read_label(lung, view, "left", "RL") == "R"
    assert read_label(lung, view, "right", "RL") == "L"

    image_box = np.s_[view.height() // 4: 3 * view.height() // 4, view.width() // 4: 3 * view.width() // 4]
    centre = QPoint(view.width() // 2, view.height() // 2)
    drag(qtbot, view, centre, centre + QPoint(150, 0))  # W/L tool: right = wider window
    assert window.model.window.width > CT_PRESETS["lung"].width * 1.5
    wider = to_array(grab_screen(view))
    save(grab_screen(view), output_dir, "lidc_axial_wl_dragged_wider.png")
    assert wider[image_box].std() < lung[image_box].std() * 0.85  # less contrast

    qtbot.keyClick(view, Qt.Key.Key_1)
    qtbot.keyClick(view, Qt.Key.Key_I)
    inverted = to_array(grab_screen(view))
    assert screen_grey(inverted, view, aerated).mean() > 255 - 140  # inverted: lung turns light
    qtbot.keyClick(view, Qt.Key.Key_R)
    assert window.model.window == window.model.initial_window(window.model.volume)


def test_distance_across_nodule_and_rois(qtbot, tmp_path, lidc_dir, output_dir, nodule) -> None:
    z, contours = nodule
    window, view = open_at_nodule(qtbot, tmp_path, lidc_dir, z)
    qtbot.keyClick(view, Qt.Key.Key_1)
    points = np.vstack(contours)  # x = column, y = row
    row = float(np.median(points[:, 1]))
    near = points[np.abs(points[:, 1] - row) <= 1]
    left, right = float(near[:, 0].min()), float(near[:, 0].max())
    assert view_point(view, row, left).x() < view.width() / 2  # right-lung nodule on the screen's left

    window.tool_actions[Tool.DISTANCE].trigger()
    drag(qtbot, view, view_point(view, row, left), view_point(view, row, right))
    window.tool_actions[Tool.ELLIPSE].trigger()
    for (r0, c0), (r1, c1) in (LUNG_BOX, AORTA_BOX):
        drag(qtbot, view, view_point(view, r0, c0), view_point(view, r1, c1))
    screenshot = grab_screen(view)
    save(screenshot, output_dir, "lidc_axial_measurements.png")

    distance, lung_roi, aorta_roi = list(window.model.measurements)
    expected = (right - left) * window.model.volume.spacing[2]
    assert abs(distance.result.length - expected) < 1.0
    assert 12.0 < distance.result.length < 18.0  # the ~15 mm nodule
    assert -950 < lung_roi.result.mean < -700
    assert 0 < aorta_roi.result.mean < 100
    assert lung_roi.result.value_unit == "HU" and lung_roi.result.area > 100
    pixels = to_array(screenshot)
    a, b = view_point(view, row, left), view_point(view, row, right)
    line = pixels[a.y(), a.x() + 3: b.x() - 3]
    assert (np.abs(line.astype(int) - [255, 200, 0]).sum(axis=-1) < 120).mean() > 0.5  # line drawn

    qtbot.waitUntil(lambda: hasattr(window, "plots"))  # side plots are built after the first paint
    xs, ys = window.plots.profile.curve.getData()
    assert abs(xs[-1] - distance.result.length) < 0.01
    assert ys[len(ys) // 2] > -300 > ys[0]  # solid nodule in the middle, aerated lung at the start
    window.plots.refresh_histogram()
    assert window.plots.histogram.window().center == pytest.approx(CT_PRESETS["lung"].center)

    panel = window.measurement_panel
    assert panel.list.count() == 3
    panel.list.setCurrentRow(2)
    assert window.model.measurements.selected_id == aorta_roi.id
    panel.delete_button.click()
    assert [m.id for m in window.model.measurements] == [distance.id, lung_roi.id]
    assert panel.list.count() == 2


def test_crosshair_synchronised_in_2x2(qtbot, tmp_path, lidc_dir, output_dir, nodule) -> None:
    z, contours = nodule
    window, axial = open_at_nodule(qtbot, tmp_path, lidc_dir, z, layout="2x2")
    coronal, sagittal = window.grid.views[ViewKind.CORONAL], window.grid.views[ViewKind.SAGITTAL]
    centre = np.vstack(contours).mean(axis=0)  # nodule centre (x, y)
    window.tool_actions[Tool.CROSSHAIR].trigger()
    qtbot.mouseClick(axial, Qt.MouseButton.LeftButton, pos=view_point(axial, centre[1], centre[0]))
    cursor = window.model.cursor
    assert abs(cursor[1] - centre[1]) <= 1 and abs(cursor[2] - centre[0]) <= 1
    assert coronal.slice_index == cursor[1] and sagittal.slice_index == cursor[2]
    qtbot.waitUntil(lambda: window.grid.view_3d.scene.volume is window.model.volume, timeout=30_000)
    QApplication.processEvents()
    save(grab_screen(window), output_dir, "lidc_2x2_crosshair.png")
    rendered = window.grid.view_3d.grab_array()
    assert rendered.std() > 10 and window.status_label.text() == "3D view ready"  # bones, not black

    for view in (axial, coronal, sagittal):
        pixels = to_array(grab_screen(view))
        row, col, _ = view.geometry.from_index(cursor)
        x, y = (int(round(v)) for v in view.transform().to_screen(float(row), float(col)))
        others = [k for k in ViewKind if k != view.state.kind]
        row_axis = view.geometry.axes.row_axis
        horizontal = [k for k in others if window.model.geometry(k).axes.slice_axis == row_axis]
        vertical = [k for k in others if k not in horizontal]
        assert _colour_share(pixels[y, :], VIEW_COLOURS[horizontal[0]]) > 0.6, view.state.kind
        assert _colour_share(pixels[:, x], VIEW_COLOURS[vertical[0]]) > 0.6, view.state.kind

    before = axial.transform().to_screen(*axial.geometry.from_index(cursor)[:2])
    wheel(sagittal, notches=20)  # wheel up in the sagittal view: 20 slices towards the patient's right
    after = axial.transform().to_screen(*axial.geometry.from_index(window.model.cursor)[:2])
    assert after[0] < before[0] - 5 and abs(after[1] - before[1]) < 1e-6


def _colour_share(line: np.ndarray, colour: object) -> float:
    target = np.array([colour.red(), colour.green(), colour.blue()])
    return float((np.abs(line.astype(int) - target).sum(axis=-1) < 60).mean())
