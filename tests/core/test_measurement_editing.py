"""Editing measurements (Qt-free geometry): handles, moving one, moving all, the result again."""

from __future__ import annotations

import math

import numpy as np
import pytest

from viewer.core.measurements import (
    MeasurementList,
    PixelMetric,
    handles,
    measure,
    moved_handle,
    remeasure,
    translated,
)

METRIC = PixelMetric.from_spacing((0.5, 0.8))  # anisotropic pixels: row 0.5 mm, column 0.8 mm


def test_handles_are_end_points_or_box_corners() -> None:
    line = measure("distance", [(1, 2), (5, 9)], None, METRIC)
    assert handles(line) == [(1.0, 2.0), (5.0, 9.0)]
    roi = measure("rectangle", [(2, 3), (6, 8)], np.zeros((10, 10)), METRIC)
    assert handles(roi) == [(2.0, 3.0), (2.0, 8.0), (6.0, 8.0), (6.0, 3.0)]


def test_moving_a_line_end_changes_the_length_in_mm() -> None:
    line = measure("distance", [(0, 0), (0, 10)], None, METRIC)
    assert line.result.length == pytest.approx(8.0)
    longer = remeasure(line, moved_handle("distance", line.points, 1, (0, 20)), None, METRIC)
    assert longer.result.length == pytest.approx(16.0) and longer.points == ((0.0, 0.0), (0.0, 20.0))
    down = remeasure(line, moved_handle("distance", line.points, 0, (8, 10)), None, METRIC)
    assert down.result.length == pytest.approx(4.0)  # 8 rows × 0.5 mm


def test_moving_a_roi_corner_keeps_the_opposite_corner_and_recomputes_the_statistics() -> None:
    image = np.zeros((20, 20))
    image[10:, 10:] = 100.0
    roi = measure("rectangle", [(0, 0), (9, 9)], image, METRIC)
    assert roi.result.mean == 0.0 and roi.result.pixel_count == 100
    for handle, corner in enumerate(handles(roi)):
        opposite = handles(roi)[(handle + 2) % 4]
        moved = moved_handle("rectangle", roi.points, handle, (19.0 - corner[0], 19.0 - corner[1]))
        assert opposite in moved
    grown = remeasure(roi, moved_handle("rectangle", roi.points, 2, (19, 19)), image, METRIC)
    assert grown.result.pixel_count == 400 and grown.result.mean == pytest.approx(25.0)
    assert grown.id == roi.id and grown.kind == "rectangle"


def test_translating_moves_every_point_and_keeps_the_length() -> None:
    angle_item = measure("angle", [(0, 5), (5, 5), (5, 10)], None, PixelMetric.from_spacing((1, 1)))
    moved = translated(angle_item.points, 3.0, -2.0)
    assert moved == ((3.0, 3.0), (8.0, 3.0), (8.0, 8.0))
    again = remeasure(angle_item, moved, None, PixelMetric.from_spacing((1, 1)))
    assert again.result.degrees == pytest.approx(90.0)


def test_an_edited_measurement_replaces_the_listed_one() -> None:
    items = MeasurementList()
    events = []
    items.subscribe(lambda event: events.append(event.kind))
    stored = items.add(measure("distance", [(0, 0), (3, 4)], None, PixelMetric.from_spacing((1, 1))))
    items.update(remeasure(stored, moved_handle("distance", stored.points, 1, (6, 8)), None,
                           PixelMetric.from_spacing((1, 1))))
    assert len(items) == 1 and math.isclose(items.get(stored.id).result.length, 10.0)
    assert events == ["added", "changed"]
