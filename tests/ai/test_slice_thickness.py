"""Slice-thickness harmonisation of the nodule pipeline (``nodule_patches.harmonise_thickness``): geometry
kept, thin slices brought to the model's thickness, nothing sampled beyond the data."""

from __future__ import annotations

import numpy as np
import SimpleITK as sitk

from ai.pipelines.nodule_candidates import resample, samples_within
from ai.pipelines.nodule_patches import harmonise_thickness


def _ct(slices: int, dz: float, plate_at_mm: float) -> sitk.Image:
    """Air with a 1-slice dense plate at ``plate_at_mm`` above the origin; oblique-free, offset origin."""
    a = np.full((slices, 40, 50), -1000.0, np.float32)
    a[int(round(plate_at_mm / dz))] = 100.0
    img = sitk.GetImageFromArray(a)
    img.SetSpacing((0.7, 0.8, dz))
    img.SetOrigin((-120.0, 30.0, -500.0))
    return img


def test_thin_slices_are_brought_to_the_model_thickness_in_the_same_frame() -> None:
    img = _ct(275, 1.0, 100.0)
    out = harmonise_thickness(img, 2.5)
    assert out.GetSpacing() == (0.7, 0.8, 2.5) and out.GetOrigin() == img.GetOrigin()
    assert out.GetDirection() == img.GetDirection() and out.GetSize()[:2] == img.GetSize()[:2]
    assert (out.GetSize()[2] - 1) * 2.5 <= (img.GetSize()[2] - 1) * 1.0  # no slice beyond the data
    profile = sitk.GetArrayFromImage(out)[:, 20, 25]
    peak = int(np.argmax(profile))
    assert abs(peak * 2.5 - 100.0) <= 1.25  # the plate stays where it was (patient-frame z)
    assert profile.max() < 100.0 - 300  # spread over ~2.5 mm: the 1 mm plate is no longer sharp
    assert np.isclose(profile.sum() * 2.5, 1100.0 * 1.0 + (profile.size * 2.5 - 1.0) * -1000.0, rtol=0.02)


def test_thick_slices_and_models_without_a_thickness_are_left_alone() -> None:
    thick = _ct(40, 2.5, 50.0)
    assert harmonise_thickness(thick, 2.5) is thick
    thin = _ct(100, 1.0, 50.0)
    assert harmonise_thickness(thin, None) is thin


def test_resampling_never_reaches_past_the_data() -> None:
    """275 slices at 1 mm → 2.5 mm: 110 samples cover 272.5 mm of 274; rounding 275 / 2.5 up made a
    111th, all default air, which joined the lungs to the outside air and lost LIDC-0314's lung mask."""
    assert samples_within(275, 1.0, 2.5) == 110
    assert samples_within(133, 2.5, 2.0) == 166  # 330 mm of data: 166 samples span exactly 330 mm
    img = _ct(275, 1.0, 100.0)
    coarse = resample(img, 2.0)
    assert (coarse.GetSize()[2] - 1) * 2.0 <= 274.0 and (coarse.GetSize()[2]) * 2.0 > 274.0
