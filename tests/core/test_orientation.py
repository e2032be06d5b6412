"""Orientation letters, screen-edge labels and plane descriptions against known geometry."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pytest

from viewer.core.orientation import (
    acquisition_plane,
    describe_plane,
    direction_letters,
    patient_axis_assignment,
    screen_labels,
    view_axes,
)
from viewer.core.volume import Volume

RADIOLOGICAL = {
    "axial": {"top": "A", "bottom": "P", "left": "R", "right": "L"},
    "coronal": {"top": "S", "bottom": "I", "left": "R", "right": "L"},
    "sagittal": {"top": "S", "bottom": "I", "left": "A", "right": "P"},
}


def signed_permutations() -> list[np.ndarray]:
    """All 48 axis-aligned direction matrices (permutations with sign flips)."""
    out = []
    for perm in itertools.permutations(range(3)):
        for signs in itertools.product((1, -1), repeat=3):
            m = np.zeros((3, 3))
            for col, (row, sign) in enumerate(zip(perm, signs, strict=True)):
                m[row, col] = sign
            out.append(m)
    return out


def tilt_direction(deg: float) -> np.ndarray:
    """GE-style gantry tilt: rows tilted about x, slices stacked straight along z (sheared)."""
    t = math.radians(deg)
    return np.column_stack([[1, 0, 0], [0, math.cos(t), -math.sin(t)], [0, 0, 1]])


@pytest.mark.parametrize(("vector", "letters"), [
    ((1, 0, 0), "L"), ((-1, 0, 0), "R"), ((0, 1, 0), "P"), ((0, -1, 0), "A"),
    ((0, 0, 1), "S"), ((0, 0, -1), "I"), ((0, -0.948, 0.317), "AS"), ((0.317, 0, -0.948), "IL"),
    ((0.6, -0.5, 0.62), "SLA"), ((0, 0, 0), ""), ((0.999, 0.02, 0), "L"),
])
def test_direction_letters(vector: tuple[float, float, float], letters: str) -> None:
    assert direction_letters(vector) == letters


def test_direction_letters_threshold_and_max() -> None:
    assert direction_letters((0.999, 0.02, 0), threshold=0.01) == "LP"
    assert direction_letters((0.6, -0.5, 0.62), max_letters=2) == "SL"


@pytest.mark.parametrize("view", ["axial", "coronal", "sagittal"])
def test_identity_labels_follow_radiological_convention(view: str) -> None:
    assert screen_labels(np.eye(3), view).as_dict() == RADIOLOGICAL[view]


@pytest.mark.parametrize("direction", signed_permutations(), ids=lambda m: "".join(
    direction_letters(m[:, a]) for a in range(3)))
def test_labels_are_radiological_for_every_axis_aligned_matrix(direction: np.ndarray) -> None:
    for view, expected in RADIOLOGICAL.items():
        assert screen_labels(direction, view).as_dict() == expected, view
        axes = view_axes(direction, view)
        assert sorted((axes.slice_axis, axes.row_axis, axes.col_axis)) == [0, 1, 2]


def test_flipped_rows_are_flipped_back() -> None:
    # j runs anterior (e.g. a flipped series): the axial view must flip rows, not columns
    direction = np.column_stack([[1, 0, 0], [0, -1, 0], [0, 0, -1]])
    axes = view_axes(direction, "axial")
    assert (axes.slice_axis, axes.row_axis, axes.col_axis) == (0, 1, 2)
    assert axes.row_flip and not axes.col_flip
    coronal = view_axes(direction, "coronal")
    assert coronal.slice_axis == 1 and coronal.row_axis == 0 and not coronal.row_flip  # k runs inferior


def test_coronal_acquisition_is_transposed_into_the_axial_view() -> None:
    # a coronal series: i → L, j → I, k → A (slices stacked anteriorly)
    direction = np.column_stack([[1, 0, 0], [0, 0, -1], [0, -1, 0]])
    assert patient_axis_assignment(direction) == (0, 2, 1)
    axial = view_axes(direction, "axial")
    assert axial.slice_axis == 1  # j (the S/I axis) is cut
    assert (axial.row_axis, axial.row_flip) == (0, True)  # k runs anterior: flip to put A on top
    assert describe_plane(direction) == "coronal, LIA"


def test_plane_descriptions() -> None:
    assert describe_plane(np.eye(3)) == "axial, LPS"
    assert describe_plane(np.column_stack([[1, 0, 0], [0, 1, 0], [0, 0, -1]])) == "axial, LPI"
    sagittal = np.column_stack([[0, 1, 0], [0, 0, -1], [-1, 0, 0]])
    assert describe_plane(sagittal) == "sagittal, PIR"
    volume = Volume(np.zeros((2, 2, 2)), (1, 1, 1), direction=tilt_direction(18.5))
    assert describe_plane(volume) == "oblique (tilted 18.5°)"


def test_gantry_tilt_plane_info_and_labels() -> None:
    info = acquisition_plane(tilt_direction(18.5))
    assert info.plane == "axial" and info.oblique
    assert info.tilt_deg == pytest.approx(18.5, abs=1e-6)
    assert info.shear_deg == pytest.approx(18.5, abs=1e-6)
    labels = screen_labels(tilt_direction(18.5), "axial")
    assert labels.as_dict() == {"top": "AS", "bottom": "PI", "left": "R", "right": "L"}
    assert not acquisition_plane(tilt_direction(0.5)).oblique


def test_oblique_rotation_keeps_dominant_letters() -> None:
    t = math.radians(30)
    rot_z = np.array([[math.cos(t), -math.sin(t), 0], [math.sin(t), math.cos(t), 0], [0, 0, 1]])
    labels = screen_labels(rot_z, "axial")
    # i points mostly L with some P; screen right is the i axis, left its opposite
    assert labels.right == "LP" and labels.left == "RA"
    assert labels.top == "AL" and labels.bottom == "PR"
    assert acquisition_plane(rot_z).description == "axial, LPS"  # in-plane rotation: not tilted


def test_no_geometry_no_letters() -> None:
    photo = Volume(np.zeros((1, 4, 4)), (1, 1, 1), has_geometry=False)
    assert screen_labels(photo, "axial").as_dict() == {"top": "", "bottom": "", "left": "", "right": ""}
    assert describe_plane(photo) == "no patient geometry"
    assert screen_labels(Volume(np.zeros((1, 4, 4)), (1, 1, 1)), "axial").top == "A"


def test_view_name_is_checked() -> None:
    with pytest.raises(ValueError, match="view"):
        view_axes(np.eye(3), "oblique")


# --- real data -----------------------------------------------------------------------------

def test_lidc_is_axial_lps(lidc_dir: Path) -> None:
    from viewer.core.series_loader import load_series

    volume = load_series(lidc_dir).volume
    assert describe_plane(volume) == "axial, LPS"
    assert volume.spacing == pytest.approx((1.0, 0.78125, 0.78125))
    assert screen_labels(volume, "axial").as_dict() == RADIOLOGICAL["axial"]


def test_gantry_tilted_head_ct_is_oblique(dicom_data: Path) -> None:
    from viewer.core.series_loader import load_series

    path = dicom_data / "ge-head-ct-gantry-tilt" / "series"
    if not path.is_dir():
        pytest.skip(f"tilted head CT not found at {path}")
    volume = load_series(path).volume
    info = acquisition_plane(volume)
    assert info.plane == "axial" and info.tilt_deg == pytest.approx(18.5, abs=0.05)
    assert describe_plane(volume) == "oblique (tilted 18.5°)"
    # rows run posterior and inferior (PI), so the top edge is anterior-superior
    axial = {"top": "AS", "bottom": "PI", "left": "R", "right": "L"}
    assert screen_labels(volume, "axial").as_dict() == axial
    sagittal = {"top": "SP", "bottom": "IA", "left": "AS", "right": "PI"}
    assert screen_labels(volume, "sagittal").as_dict() == sagittal
