"""Editable measurements in the real window (LIDC-0314, pytest-qt under Xvfb, 1280×800 and
1920×1080): a drawn length and an ellipse ROI are selected by a click on their outline, their
handles dragged (the length and the ROI statistics follow, from the unfiltered plane), the ROI
moved, Esc deselects and Delete removes one. The ROI statistics never sit on the length's label,
the shapes, the corner text, the orientation letters or the scale bar.
Screenshots in test-output/ (measurement-editing-*.png)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from viewer.core.label_placement import intersection
from viewer.core.measurements import EllipseROI
from viewer.core.view_state import Tool, ViewKind
from viewer.ui.slice_annotations import SELECTED_COLOUR, reserved_boxes

from .test_screen_collisions import SIZES, resize, size_name
from .viewer_helpers import drag, grab_screen, open_window, save, to_array, view_point

pytestmark = pytest.mark.gui


def handle_pixels(pixels: np.ndarray, point: QPoint) -> int:
    """Pixels in the selection colour around a screen point (a handle is a 7-px square)."""
    patch = pixels[point.y() - 4:point.y() + 5, point.x() - 4:point.x() + 5].astype(int)
    target = np.array([SELECTED_COLOUR.red(), SELECTED_COLOUR.green(), SELECTED_COLOUR.blue()])
    return int((np.abs(patch - target).sum(axis=-1) < 60).sum())


@pytest.mark.parametrize("size", SIZES, ids=size_name)
def test_select_drag_move_and_delete(qtbot, tmp_path: Path, lidc_dir: Path, output_dir: Path,  # noqa: ANN001
                                     size: tuple[int, int]) -> None:
    window = open_window(qtbot, tmp_path, lidc_dir)
    try:
        resize(qtbot, window, size)
        view, model = window.grid.views[ViewKind.AXIAL], window.model
        model.set_slice(0, 160)
        col_mm = view.geometry.pixel_spacing[1]
        model.set_tool(Tool.DISTANCE)
        drag(qtbot, view, view_point(view, 300, 300), view_point(view, 300, 360))
        model.set_tool(Tool.ELLIPSE)
        drag(qtbot, view, view_point(view, 280, 340), view_point(view, 330, 400))
        line, roi = list(model.measurements)
        assert line.result.length == pytest.approx(60 * col_mm, abs=2 * col_mm)
        save(grab_screen(view), output_dir, f"measurement-editing-drawn-{size_name(size)}.png")
        shapes, labels = view.measure_boxes[:2], view.measure_boxes[2:]
        assert len(labels) == 2 and intersection(*labels) == 0  # ROI statistics off the length label
        assert all(intersection(label, shape) == 0 for label in labels for shape in shapes)
        assert all(intersection(label, kept) == 0 for label in labels for kept in reserved_boxes(view))

        model.set_tool(Tool.WINDOW)
        window_before = model.window
        middle = view_point(view, 300, 330)
        QTest.mouseClick(view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, middle)
        assert model.measurements.selected_id == line.id and model.window == window_before
        end = view_point(view, 300, 360)
        assert handle_pixels(to_array(grab_screen(view)), end) > 10  # the handles show
        drag(qtbot, view, end, view_point(view, 300, 400))
        longer = model.measurements.get(line.id)
        assert longer.result.length == pytest.approx(100 * col_mm, abs=2 * col_mm)
        assert model.window == window_before  # dragging a handle is no W/L drag

        corner = view_point(view, 280, 340)
        drag(qtbot, view, corner, view_point(view, 260, 320))
        grown = model.measurements.get(roi.id)
        assert model.measurements.selected_id == roi.id
        assert grown.result.area > roi.result.area * 1.3
        expected = EllipseROI(*grown.points).stats(view.plane(), view.geometry.metric, "HU")
        assert grown.result == expected  # statistics recomputed from the plane's own pixels
        top, left = min(p[0] for p in grown.points), min(p[1] for p in grown.points)
        bottom = max(p[0] for p in grown.points)
        outline = view_point(view, (top + bottom) / 2, left)  # the ellipse's left-most point
        drag(qtbot, view, outline, outline + QPoint(30, 0))
        moved = model.measurements.get(roi.id)
        shift = moved.points[0][1] - grown.points[0][1]
        assert shift == pytest.approx(30 / view.transform().sx, abs=1.0)
        assert moved.result.area == pytest.approx(grown.result.area)
        save(grab_screen(view), output_dir, f"measurement-editing-edited-{size_name(size)}.png")

        view.setFocus()
        QTest.keyClick(view, Qt.Key.Key_Escape)
        assert model.measurements.selected_id is None
        QTest.keyClick(view, Qt.Key.Key_Delete)
        assert len(model.measurements) == 2  # nothing selected: nothing deleted
        rows_now, cols_now = zip(*moved.points, strict=True)
        on_outline = view_point(view, min(rows_now), sum(cols_now) / 2)  # the ellipse's top, off the line
        QTest.mouseClick(view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, on_outline)
        assert model.measurements.selected_id == roi.id
        QTest.keyClick(view, Qt.Key.Key_Delete)
        assert [m.id for m in model.measurements] == [line.id]
        assert window.measurement_panel.list.count() == 1
    finally:
        window.close()
