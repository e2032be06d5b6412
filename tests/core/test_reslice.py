"""Display planes, slabs and oblique reslicing against synthetic volumes of known geometry.

The synthetic "patient" is a field f(x, y, z) in LPS mm; a volume samples it on a grid with a
given direction matrix. Whatever the matrix, the axial/coronal/sagittal planes must show the
same pixels at the same positions as those of an identity-direction volume of the same patient.
"""

from __future__ import annotations

import csv
import itertools
import math
from pathlib import Path

import numpy as np
import pytest

from viewer.core.orientation import direction_letters
from viewer.core.reslice import (
    anatomical_plane,
    extract_plane,
    extract_slab,
    plane_geometry,
    resample_volume,
    reslice_oblique,
    sample_trilinear,
    slab_range,
)
from viewer.core.volume import Volume


def signed_permutations() -> list[np.ndarray]:
    """All 48 axis-aligned direction matrices (permutations with sign flips)."""
    out = []
    for perm in itertools.permutations(range(3)):
        for signs in itertools.product((1, -1), repeat=3):
            m = np.zeros((3, 3))
            m[list(perm), [0, 1, 2]] = signs
            out.append(m)
    return out


def tilt_direction(deg: float) -> np.ndarray:
    """GE-style gantry tilt: rows tilted about x, slices stacked straight along z (sheared)."""
    t = math.radians(deg)
    return np.column_stack([[1, 0, 0], [0, math.cos(t), -math.sin(t)], [0, 0, 1]])

SHAPE_XYZ = (7, 6, 5)  # voxels along x, y, z of the reference box
SPACING_XYZ = (0.5, 0.75, 2.0)


def field(xyz: np.ndarray) -> np.ndarray:
    """Linear, so trilinear interpolation reproduces it exactly; distinct along each axis."""
    return xyz[..., 0] + 100.0 * xyz[..., 1] + 10000.0 * xyz[..., 2]


def sample_volume(direction: np.ndarray, origin: tuple[float, float, float],
                  shape_kji: tuple[int, int, int], spacing_kji: tuple[float, float, float]) -> Volume:
    empty = Volume(np.zeros(shape_kji), spacing_kji, origin, direction)
    kji = np.stack(np.meshgrid(*(np.arange(n) for n in shape_kji), indexing="ij"), axis=-1)
    return empty.with_voxels(field(empty.index_to_patient(kji)))


def box_volume(direction: np.ndarray) -> Volume:
    """The reference box sampled with an axis-aligned ``direction`` (any signed permutation)."""
    shape, spacing, origin = [0, 0, 0], [0.0, 0.0, 0.0], np.zeros(3)
    for index_axis in range(3):
        patient_axis = int(np.argmax(np.abs(direction[:, index_axis])))
        sign = direction[patient_axis, index_axis]
        shape[2 - index_axis] = SHAPE_XYZ[patient_axis]
        spacing[2 - index_axis] = SPACING_XYZ[patient_axis]
        if sign < 0:
            origin[patient_axis] = (SHAPE_XYZ[patient_axis] - 1) * SPACING_XYZ[patient_axis]
    return sample_volume(direction, tuple(origin), tuple(shape), tuple(spacing))


REFERENCE = box_volume(np.eye(3))
POINT = np.array([2 * 0.5, 3 * 0.75, 2 * 2.0])  # a voxel centre inside the box


def test_identity_axial_plane_is_anterior_up_right_on_left() -> None:
    plane = extract_plane(REFERENCE, "axial", 0)
    assert plane.shape == (6, 7) and plane.flags.c_contiguous
    # rows go posterior (y grows downwards), columns go to patient left (x grows rightwards)
    assert np.all(np.diff(plane, axis=0) > 0) and np.all(np.diff(plane, axis=1) > 0)
    coronal = extract_plane(REFERENCE, "coronal", 0)
    assert coronal.shape == (5, 7) and np.all(np.diff(coronal, axis=0) < 0)  # superior on top
    sagittal = extract_plane(REFERENCE, "sagittal", 0)
    assert sagittal.shape == (5, 6) and np.all(np.diff(sagittal, axis=1) > 0)  # anterior on left


@pytest.mark.parametrize("direction", signed_permutations(), ids=lambda m: "".join(
    direction_letters(m[:, a]) for a in range(3)))
@pytest.mark.parametrize("view", ["axial", "coronal", "sagittal"])
def test_every_axis_aligned_matrix_shows_the_same_anatomy(direction: np.ndarray, view: str) -> None:
    volume = box_volume(direction)
    ref_geo, geo = plane_geometry(REFERENCE, view), plane_geometry(volume, view)
    ref_plane = extract_plane(REFERENCE, view, ref_geo.slice_for(POINT))
    plane = extract_plane(volume, view, geo.slice_for(POINT))
    np.testing.assert_allclose(plane, ref_plane, atol=1e-6)
    assert geo.pixel_spacing == ref_geo.pixel_spacing
    assert geo.slice_spacing == pytest.approx(ref_geo.slice_spacing)
    np.testing.assert_allclose(geo.to_patient(1, 2, geo.slice_for(POINT)),
                               ref_geo.to_patient(1, 2, ref_geo.slice_for(POINT)), atol=1e-9)


def test_screen_to_index_and_patient_round_trip() -> None:
    volume = box_volume(np.column_stack([[0, 0, -1], [-1, 0, 0], [0, 1, 0]]))
    for view in ("axial", "coronal", "sagittal"):
        geo = plane_geometry(volume, view)
        rows, cols = geo.shape
        r, c, s = np.meshgrid(np.arange(rows), np.arange(cols), np.arange(geo.n_slices), indexing="ij")
        kji = geo.to_index(r, c, s)
        values = volume.voxels[tuple(np.moveaxis(kji.astype(int), -1, 0))]
        planes = np.stack([extract_plane(volume, view, i) for i in range(geo.n_slices)], axis=-1)
        np.testing.assert_array_equal(values, planes)  # pixel [r, c] of slice s IS voxel to_index(r, c, s)
        xyz = geo.to_patient(r, c, s)
        np.testing.assert_allclose(field(xyz), planes, atol=1e-6)
        back = geo.locate(xyz)
        for got, want in zip(back, (r, c, s), strict=True):
            np.testing.assert_allclose(got, want, atol=1e-9)


def test_anisotropic_pixel_spacing_of_reformats() -> None:
    volume = Volume(np.zeros((40, 64, 64), np.int16), (2.5, 0.7, 0.6))
    assert plane_geometry(volume, "axial").pixel_spacing == (0.7, 0.6)
    assert plane_geometry(volume, "coronal").pixel_spacing == (2.5, 0.6)
    assert plane_geometry(volume, "sagittal").pixel_spacing == (2.5, 0.7)
    assert plane_geometry(volume, "coronal").shape == (40, 64)
    assert plane_geometry(volume, "sagittal").slice_spacing == pytest.approx(0.6)


def test_slabs_reduce_the_right_slices() -> None:
    rng = np.random.default_rng(3)
    volume = Volume(rng.integers(-1000, 1000, (20, 16, 12)).astype(np.int16), (1.0, 0.5, 0.5))
    geo = plane_geometry(volume, "axial")
    assert slab_range(geo, 10, 5.0) == (8, 13)
    assert slab_range(geo, 10, 0.4) == (10, 11)
    assert slab_range(geo, 0, 5.0) == (0, 3)  # clipped at the edge
    planes = np.stack([extract_plane(volume, "axial", k) for k in range(8, 13)])
    np.testing.assert_array_equal(extract_slab(volume, "axial", 10, 5.0, "mip"), planes.max(axis=0))
    np.testing.assert_array_equal(extract_slab(volume, "axial", 10, 5.0, "minip"), planes.min(axis=0))
    np.testing.assert_allclose(extract_slab(volume, "axial", 10, 5.0, "mean"), planes.mean(axis=0), rtol=1e-6)
    np.testing.assert_array_equal(extract_slab(volume, "axial", 10, 1.0), extract_plane(volume, "axial", 10))
    sag = plane_geometry(volume, "sagittal")  # slices 0.5 mm apart: 4 mm = 8 slices
    assert slab_range(sag, 6, 4.0) == (3, 11)
    cols = [extract_plane(volume, "sagittal", i) for i in range(3, 11)]
    np.testing.assert_array_equal(extract_slab(volume, "sagittal", 6, 4.0, "mip"), np.max(cols, axis=0))
    with pytest.raises(ValueError, match="slab mode"):
        extract_slab(volume, "axial", 10, 5.0, "sum")  # type: ignore[arg-type]
    with pytest.raises(IndexError):
        extract_plane(volume, "axial", 20)


def test_trilinear_is_exact_on_a_linear_field_and_fills_outside() -> None:
    kji = np.array([[1.5, 2.25, 3.75], [0, 0, 0], [-3, 0, 0], [4, 5, 6.4]])
    values = sample_trilinear(REFERENCE.voxels, kji, fill=-1.0)
    expected = field(REFERENCE.index_to_patient(kji[:2]))
    np.testing.assert_allclose(values[:2], expected, rtol=1e-6)
    assert values[2] == -1.0  # outside
    assert values[3] == pytest.approx(field(REFERENCE.index_to_patient((4, 5, 6))), rel=1e-6)  # clamped edge


def test_anatomical_plane_matches_the_native_plane_for_axis_aligned_data() -> None:
    oblique = anatomical_plane(REFERENCE, "axial", POINT, pixel_mm=(0.75, 0.5))
    native = extract_plane(REFERENCE, "axial", plane_geometry(REFERENCE, "axial").slice_for(POINT))
    assert oblique.image.shape == native.shape
    np.testing.assert_allclose(oblique.image, native, rtol=1e-6)


def sheared_volume(tilt_deg: float = 18.5) -> Volume:
    """Gantry-tilted stack like the GE head CT: rows tilted about x, slices stacked along z."""
    return sample_volume(tilt_direction(tilt_deg), (-10.0, -12.0, -8.0), (12, 30, 24), (1.5, 1.0, 1.0))


def within_grid(volume: Volume, xyz: np.ndarray, margin: float = 0.0) -> np.ndarray:
    """Points whose voxel index lies within the outer voxel centres (+ margin)."""
    kji = volume.patient_to_index(xyz)
    return np.all((kji >= -margin - 1e-9) & (kji <= np.asarray(volume.shape) - 1 + margin + 1e-9), axis=-1)


def test_true_axial_plane_of_tilted_data_has_constant_z() -> None:
    volume = sheared_volume()
    centre = volume.index_to_patient((6, 15, 12))
    plane = anatomical_plane(volume, "axial", centre, pixel_mm=1.0)
    rows, cols = plane.image.shape
    rr, cc = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
    xyz = plane.frame.to_patient(rr, cc)
    assert np.allclose(xyz[..., 2], centre[2])
    inside = within_grid(volume, xyz)
    assert inside.sum() > 100
    assert np.all(plane.image[~within_grid(volume, xyz, margin=0.5)] == volume.voxels.min())
    np.testing.assert_allclose(plane.image[inside], field(xyz[inside]), rtol=1e-5, atol=0.05)
    assert plane.pixel_spacing == (1.0, 1.0)


def test_oblique_reslice_follows_requested_directions() -> None:
    volume = sheared_volume()
    t = math.radians(30)
    row_dir, col_dir = (0, math.cos(t), -math.sin(t)), (1, 0, 0)
    centre = volume.index_to_patient((6, 15, 12))
    plane = reslice_oblique(volume, centre, row_dir, col_dir, (9, 11), (0.5, 0.8))
    xyz = plane.frame.to_patient(*np.meshgrid(np.arange(9), np.arange(11), indexing="ij"))
    np.testing.assert_allclose(plane.image, field(xyz), rtol=1e-5)
    assert plane.metric.length(2, 0) == pytest.approx(1.0)
    r, c, d = plane.frame.locate(centre)
    assert (r, c, d) == pytest.approx((4, 5, 0), abs=1e-9)


def test_resample_removes_gantry_shear() -> None:
    volume = sheared_volume()
    fixed = resample_volume(volume)
    assert fixed.resampled
    # the slice plane is kept and slices now stack along its normal
    np.testing.assert_allclose(fixed.direction[:, :2], volume.direction[:, :2], atol=1e-12)
    np.testing.assert_allclose(fixed.direction.T @ fixed.direction, np.eye(3), atol=1e-12)
    assert fixed.spacing[0] == pytest.approx(1.5 * math.cos(math.radians(18.5)))
    kji = np.stack(np.meshgrid(*(np.arange(n) for n in fixed.shape), indexing="ij"), axis=-1)
    xyz = fixed.index_to_patient(kji)
    inside = within_grid(volume, xyz)
    # interpolation along the sheared stack is linear in a linear field: exact inside
    np.testing.assert_allclose(fixed.voxels[inside], field(xyz[inside]), rtol=1e-5, atol=0.05)
    assert inside.mean() > 0.5
    axial_lps = resample_volume(volume, direction=np.eye(3), spacing=(1.0, 1.0, 1.0))
    assert np.allclose(axial_lps.direction, np.eye(3))


# --- real data -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def lidc(lidc_dir: Path) -> Volume:
    from viewer.core.series_loader import load_series

    return load_series(lidc_dir).volume


def nodule_centre_lps(lidc_dir: Path, volume: Volume) -> np.ndarray:
    """Centre (LPS) of the first radiologist contour on the nodule's middle slice."""
    with open(lidc_dir.parent / "annotations" / "contours.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    z_values = sorted({float(r["image_z_position"]) for r in rows})
    middle = z_values[len(z_values) // 2]
    row = next(r for r in rows if float(r["image_z_position"]) == middle)
    cols_rows = np.array([[float(v) for v in line.split(",")] for line in row["coords"].split()])
    col, r = cols_rows.mean(axis=0)
    slice_z = volume.index_to_patient(np.array([[k, 0, 0] for k in range(volume.shape[0])]))[:, 2]
    k = int(np.argmin(np.abs(slice_z - middle)))
    return volume.index_to_patient((k, r, col))


def test_lidc_geometry_of_the_three_views(lidc: Volume) -> None:
    assert lidc.shape == (275, 512, 512)
    axial, coronal, sagittal = (plane_geometry(lidc, v) for v in ("axial", "coronal", "sagittal"))
    assert (axial.n_slices, axial.shape, axial.pixel_spacing) == (275, (512, 512), (0.78125, 0.78125))
    assert axial.slice_spacing == pytest.approx(1.0)
    assert (coronal.shape, coronal.pixel_spacing) == ((275, 512), (1.0, 0.78125))
    assert (sagittal.shape, sagittal.pixel_spacing) == ((275, 512), (1.0, 0.78125))
    # coronal row 0 is the most superior slice, row 274 the most inferior
    top, bottom = coronal.to_patient(0, 0, 256)[2], coronal.to_patient(274, 0, 256)[2]
    assert top > bottom and top - bottom == pytest.approx(274.0)


def test_lidc_anatomy_lands_on_the_right_screen_side(lidc: Volume, lidc_dir: Path) -> None:
    nodule = nodule_centre_lps(lidc_dir, lidc)
    for view in ("axial", "coronal"):
        geo = plane_geometry(lidc, view)
        row, col, sl = geo.locate(nodule)
        assert col < geo.shape[1] / 2, f"right-lung nodule must be on the screen's left in {view}"
        plane = extract_plane(lidc, view, int(round(sl)))
        assert plane[int(round(row)), int(round(col))] > -300  # solid nodule, not aerated lung
    # the spine is posterior: bottom half of the axial view, right half of the sagittal view
    axial = extract_plane(lidc, "axial", 137)
    rows, cols = np.nonzero(axial > 400)
    assert rows.mean() > 256 and abs(cols.mean() - 256) < 60
    sagittal = extract_plane(lidc, "sagittal", plane_geometry(lidc, "sagittal").slice_for(
        plane_geometry(lidc, "axial").to_patient(256 + 0.0, cols.mean(), 137)))
    assert np.nonzero(sagittal > 400)[1].mean() > 256


def test_planes_are_copies(lidc: Volume) -> None:
    for view in ("axial", "coronal", "sagittal"):
        plane = extract_plane(lidc, view, 100)
        assert plane.flags.c_contiguous and not np.shares_memory(plane, lidc.voxels)


def test_true_axial_plane_of_the_tilted_head_ct(dicom_data: Path, output_dir: Path) -> None:
    from PIL import Image

    from viewer.core.series_loader import load_series
    from viewer.core.windowing import Window, apply_window

    path = dicom_data / "ge-head-ct-gantry-tilt" / "series"
    if not path.is_dir():
        pytest.skip(f"tilted head CT not found at {path}")
    volume = load_series(path).volume
    centre = volume.index_to_patient(np.array(volume.shape) / 2)
    plane = anatomical_plane(volume, "axial", centre)
    rows, cols = plane.image.shape
    xyz = plane.frame.to_patient(np.array([0, rows - 1]), np.array([0, cols - 1]))
    assert np.allclose(xyz[:, 2], centre[2])  # constant z: a true axial plane
    native_geo = plane_geometry(volume, "axial")
    native = extract_plane(volume, "axial", native_geo.slice_for(centre))
    pair = np.zeros((max(rows, native.shape[0]), cols + native.shape[1]), np.uint8)
    window = Window(40, 400)
    pair[:rows, :cols] = apply_window(plane.image, window)
    pair[:native.shape[0], cols:] = apply_window(native, window)
    Image.fromarray(pair).save(output_dir / "reslice-tilt-true-axial-vs-native.png")
    skull = plane.image > 300
    assert skull.sum() > 2000, "the skull is cut by the true axial plane"
    r, c = np.nonzero(skull)
    assert abs(c.mean() - cols / 2) < cols / 8  # head centred left-right (symmetric anatomy)
