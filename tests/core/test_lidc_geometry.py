"""LIDC-0314 against known geometry: order, shape, spacing, pixels, and the nodule's slice."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from viewer.core.dicom_index import index_path
from viewer.core.orientation import describe_plane
from viewer.core.series_loader import load_series


@pytest.fixture(scope="module")
def lidc(lidc_dir: Path):
    return load_series(lidc_dir)


def test_shape_spacing_and_orientation(lidc) -> None:
    volume = lidc.volume
    assert volume.shape == (275, 512, 512)
    assert volume.spacing == pytest.approx((1.0, 0.78125, 0.78125))
    assert np.allclose(volume.direction, np.eye(3))
    assert describe_plane(volume) == "axial, LPS"
    assert not volume.resampled and volume.warnings == ()
    assert volume.voxels.dtype == np.int16
    assert volume.modality == "CT"


def test_slices_sorted_along_normal_not_by_file_name(lidc, lidc_dir: Path) -> None:
    z = np.array([lidc.volume.slice_position(k)[2] for k in range(275)])
    assert np.all(np.diff(z) > 0), "z must increase strictly with k"
    assert np.allclose(np.diff(z), 1.0)
    files = sorted(lidc_dir.glob("*.dcm"))
    index = index_path(lidc_dir)
    by_name = [f.position[2] for f in sorted(index.series[0].frames, key=lambda f: f.path)]
    assert by_name != sorted(by_name), "test data is expected to have shuffled file names"
    assert len(files) == 275


def test_voxels_and_origin_equal_simpleitk(lidc, lidc_dir: Path) -> None:
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(lidc_dir)))
    image = reader.Execute()
    assert np.array_equal(sitk.GetArrayViewFromImage(image), lidc.volume.voxels)
    assert np.allclose(image.GetOrigin(), lidc.volume.origin)
    assert np.allclose(image.GetSpacing()[::-1], lidc.volume.spacing)


def test_hu_values_are_rescaled(lidc) -> None:
    volume = lidc.volume
    assert volume.value_range[0] == -1000  # air outside the body, after RescaleIntercept -1000
    centre = volume.voxels[137, 200:300, 200:300]
    assert -1000 <= centre.mean() <= 200
    assert volume.default_window is not None and volume.default_window.center == -450


def _contours(annotations: Path) -> list[tuple[float, np.ndarray]]:
    with open(annotations / "contours.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    out = []
    for row in rows:
        points = np.array([[float(v) for v in line.split(",")] for line in row["coords"].split()])
        out.append((float(row["image_z_position"]), points))
    return out


def test_nodule_contours_land_on_the_slice_they_name(lidc, lidc_dir: Path) -> None:
    volume = lidc.volume
    contours = _contours(lidc_dir.parent / "annotations")
    assert contours
    z_of_slice = np.array([volume.slice_position(k)[2] for k in range(volume.shape[0])])
    inside_means, ring_means = [], []
    for z, points in contours:
        k = int(np.argmin(np.abs(z_of_slice - z)))
        assert abs(z_of_slice[k] - z) < 1e-3, f"no slice at z={z}"
        cols, rows = points[:, 0].astype(int), points[:, 1].astype(int)
        c0, r0 = int(cols.mean()), int(rows.mean())
        inside_means.append(volume.voxels[k, r0 - 1:r0 + 2, c0 - 1:c0 + 2].mean())
        radius = max(np.ptp(cols), np.ptp(rows)) + 6
        ring = volume.voxels[k, r0 - radius:r0 + radius, c0 - radius:c0 + radius]
        ring_means.append(np.median(ring))
    # the contour centres sit on soft tissue (the nodule), surrounded by aerated lung
    assert np.median(inside_means) > -300
    assert np.median(ring_means) < -500
    assert -530 <= min(z for z, _ in contours) and max(z for z, _ in contours) <= -510
