"""Distances, angles, ROI statistics, profiles and the measurement list model."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from viewer.core.measurements import (
    EllipseROI,
    MeasurementList,
    PixelMetric,
    RectangleROI,
    angle,
    distance,
    intensity_profile,
    measure,
)
from viewer.core.reslice import extract_plane, plane_geometry
from viewer.core.volume import Volume


def marker_volume() -> tuple[Volume, np.ndarray, np.ndarray]:
    """Anisotropic volume with a flipped row axis and two bright markers at known LPS points."""
    direction = np.column_stack([[1, 0, 0], [0, -1, 0], [0, 0, -1]])
    volume = Volume(np.zeros((30, 40, 50), np.int16), (2.5, 0.8, 0.6), (-20.0, 15.0, 40.0), direction,
                    modality="CT")
    a, b = (12, 5, 7), (12, 33, 41)  # [k, j, i], same slice
    volume.voxels[a] = volume.voxels[b] = 1000
    return volume, volume.index_to_patient(a), volume.index_to_patient(b)


def find_marker_pixels(plane: np.ndarray) -> list[tuple[float, float]]:
    return [(float(r), float(c)) for r, c in np.argwhere(plane == 1000)]


def test_known_distance_in_a_synthetic_volume() -> None:
    volume, pa, pb = marker_volume()
    expected = float(np.linalg.norm(pb - pa))  # sqrt((34*0.6)^2 + (28*0.8)^2)
    assert expected == pytest.approx(math.hypot(34 * 0.6, 28 * 0.8))
    geo = plane_geometry(volume, "axial")
    plane = extract_plane(volume, "axial", geo.slice_for(pa))
    p0, p1 = find_marker_pixels(plane)
    assert distance(p0, p1, geo.metric) == pytest.approx(expected)
    assert geo.metric.unit == "mm"


def test_distance_across_slices_in_a_reformat() -> None:
    volume = Volume(np.zeros((30, 40, 50), np.int16), (2.5, 0.8, 0.6))
    a, b = (3, 20, 10), (27, 20, 40)
    volume.voxels[a] = volume.voxels[b] = 1000
    geo = plane_geometry(volume, "coronal")  # rows are slices 2.5 mm apart
    p0, p1 = find_marker_pixels(extract_plane(volume, "coronal", 20))
    assert distance(p0, p1, geo.metric) == pytest.approx(math.hypot(24 * 2.5, 30 * 0.6))


def test_pixels_without_geometry() -> None:
    volume = Volume(np.zeros((1, 20, 20)), (1, 1, 1), has_geometry=False)
    metric = plane_geometry(volume, "axial").metric
    assert metric.unit == "px"
    assert distance((0, 0), (3, 4), metric) == pytest.approx(5.0)
    m = measure("distance", [(0, 0), (3, 4)], None, metric)
    assert m.summary() == "5.0 px"


def test_angle_uses_physical_space() -> None:
    metric = PixelMetric.from_spacing((2.0, 1.0))
    # on screen this looks like 45°, physically the rows are twice as long: atan(2) from the col axis
    assert angle((0, 10), (0, 0), (10, 10), metric) == pytest.approx(math.degrees(math.atan2(20, 10)))
    assert angle((0, 4), (0, 0), (2, 0), metric) == pytest.approx(90.0)
    assert angle((0, 4), (0, 0), (0, -3), metric) == pytest.approx(180.0)
    assert angle((0, 0), (0, 0), (1, 1), metric) == 0.0


def test_roi_stats_on_a_constant_region() -> None:
    image = np.full((64, 64), -1000.0)
    image[10:30, 20:50] = 40.0
    metric = PixelMetric.from_spacing((0.5, 0.25))
    rect = RectangleROI((9.5, 19.5), (29.5, 49.5)).stats(image, metric, "HU")
    assert (rect.mean, rect.sd, rect.min, rect.max) == (40.0, 0.0, 40.0, 40.0)
    assert rect.pixel_count == 600 and rect.area == pytest.approx(600 * 0.125)
    assert rect.value_unit == "HU" and "mean 40.0 HU" in rect.summary()
    ell = EllipseROI((29.5, 49.5), (9.5, 19.5)).stats(image, metric, "HU")  # corners in any order
    assert ell.mean == 40.0 and ell.sd == 0.0
    assert ell.area == pytest.approx(math.pi * 10 * 15 * 0.125)
    assert ell.pixel_count == pytest.approx(math.pi * 10 * 15, rel=0.03)


def test_roi_stats_mixed_region_and_clipping() -> None:
    image = np.zeros((10, 10))
    image[:, 5:] = 100.0
    stats = RectangleROI((-5, -5), (4.4, 9.9)).stats(image, PixelMetric.from_spacing((1, 1)))
    assert stats.pixel_count == 50 and stats.mean == 50.0 and stats.min == 0 and stats.max == 100
    assert stats.sd == pytest.approx(np.std([0] * 25 + [100] * 25, ddof=1))
    empty = RectangleROI((20, 20), (30, 30)).stats(image, PixelMetric.from_spacing((1, 1)))
    assert empty.pixel_count == 0 and math.isnan(empty.mean)


def test_profile_matches_the_line() -> None:
    rr, cc = np.mgrid[0:40, 0:60]
    image = 3.0 * cc + 0.5 * rr  # a ramp: bilinear sampling is exact
    metric = PixelMetric.from_spacing((0.8, 0.6))
    profile = intensity_profile(image, (5, 10), (25, 40), metric)
    n = len(profile.values)
    assert n == math.ceil(math.hypot(20, 30)) + 1
    t = np.linspace(0, 1, n)
    np.testing.assert_allclose(profile.values, 3.0 * (10 + 30 * t) + 0.5 * (5 + 20 * t))
    assert profile.distances[-1] == pytest.approx(math.hypot(20 * 0.8, 30 * 0.6))
    assert profile.distances[0] == 0 and np.all(np.diff(profile.distances) > 0)
    assert profile.unit == "mm"


def test_measurement_list_events_select_delete() -> None:
    events: list[tuple[str, int | None]] = []
    items = MeasurementList()
    unsubscribe = items.subscribe(
        lambda e: events.append((e.kind, e.measurement.id if e.measurement else None)))
    metric = PixelMetric.from_spacing((0.5, 0.5))
    image = np.full((20, 20), 7.0)
    d = items.add(measure("distance", [(0, 0), (0, 10)], image, metric, view="axial", slice_index=4))
    roi = items.add(measure("ellipse", [(2, 2), (12, 12)], image, metric, view="axial", slice_index=5,
                            value_unit="HU"))
    assert (d.id, roi.id) == (1, 2) and len(items) == 2
    assert d.summary() == "5.0 mm" and roi.result.mean == 7.0
    items.select(roi.id)
    assert items.selected == roi
    moved = measure("distance", [(0, 0), (0, 20)], image, metric, view="axial", slice_index=4)
    items.update(replace(moved, id=d.id))
    assert items.get(d.id).summary() == "10.0 mm"
    assert [m.id for m in items.for_plane("axial", 4)] == [1]
    items.remove_selected()
    assert items.selected is None and [m.id for m in items] == [1]
    unsubscribe()
    items.clear()
    assert len(items) == 0
    assert events == [("added", 1), ("added", 2), ("selected", 2), ("changed", 1), ("removed", 2)]
    with pytest.raises(KeyError):
        items.select(99)
    with pytest.raises(ValueError, match="3 points"):
        measure("angle", [(0, 0), (1, 1)], None, metric)


def test_lidc_roi_and_distance_in_axial_and_coronal_views(lidc_dir: Path) -> None:
    from viewer.core.series_loader import load_series

    volume = load_series(lidc_dir).volume
    axial = plane_geometry(volume, "axial")
    plane = extract_plane(volume, "axial", 100)
    lung = EllipseROI((285, 315), (315, 345)).stats(plane, axial.metric, "HU")  # left lower lung
    heart = EllipseROI((200, 230), (230, 260)).stats(plane, axial.metric, "HU")
    assert -950 < lung.mean < -700 and 0 < heart.mean < 100
    assert lung.area == pytest.approx(math.pi * 15 * 15 * 0.78125**2)
    # the same patient point in the coronal view: still lung, pixels 1.0 × 0.78125 mm
    coronal = plane_geometry(volume, "coronal")
    point = axial.to_patient(300, 330, 100)
    row, col, sl = coronal.locate(point)
    coronal_plane = extract_plane(volume, "coronal", coronal.slice_for(point))
    same = EllipseROI((row - 15, col - 15), (row + 15, col + 15)).stats(coronal_plane, coronal.metric, "HU")
    assert -950 < same.mean < -700
    assert same.area == pytest.approx(math.pi * 15 * 15 * 1.0 * 0.78125)
    # 100 rows down a coronal view are 100 slices of 1.0 mm
    assert distance((row, col), (row + 100, col), coronal.metric) == pytest.approx(100.0)
    assert distance((row, col), (row, col + 100), coronal.metric) == pytest.approx(78.125)
