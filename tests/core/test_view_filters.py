"""Display-only view filters (SimpleITK) on a real CT slice: they change the shown pixels and never
the plane they are given."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest

from viewer.core.view_filters import FILTERS, apply_view_filter


@pytest.fixture(scope="module")
def ct_slice(lidc_dir: Path) -> np.ndarray:
    files = sorted(lidc_dir.glob("*.dcm"))
    if not files:
        pytest.skip(f"no DICOM files in {lidc_dir}")
    ds = pydicom.dcmread(files[len(files) // 2])
    hu = ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    return hu.astype(np.int16)


@pytest.mark.parametrize("name", list(FILTERS))
def test_a_filter_changes_the_pixels_not_its_input(ct_slice: np.ndarray, name: str) -> None:
    before = ct_slice.copy()
    out = apply_view_filter(ct_slice, name)
    assert np.array_equal(ct_slice, before)  # the data is untouched
    assert out.shape == ct_slice.shape and out.dtype == np.float32
    assert np.abs(out - ct_slice).mean() > 1.0  # something visible changed
    low, high = np.percentile(ct_slice, (0.5, 99.5))
    assert low - 50 <= np.median(out) <= high + 50  # the same value range: the window still applies


def test_denoise_lowers_the_noise_in_a_uniform_region(ct_slice: np.ndarray) -> None:
    rows, cols = ct_slice.shape
    # the region of lowest standard deviation among 16-px blocks of air/soft tissue
    blocks = ct_slice[: rows // 16 * 16, : cols // 16 * 16].reshape(rows // 16, 16, cols // 16, 16)
    sd = blocks.std(axis=(1, 3))
    r, c = np.unravel_index(np.argmax(np.where(sd > 5, -sd, -np.inf)), sd.shape)
    region = (slice(r * 16, r * 16 + 16), slice(c * 16, c * 16 + 16))
    for name in ("Denoise (curvature flow)", "Denoise (median 3×3)"):
        assert apply_view_filter(ct_slice, name)[region].std() < ct_slice[region].std()


def test_clahe_raises_local_contrast(ct_slice: np.ndarray) -> None:
    lung = ct_slice < -500
    out = apply_view_filter(ct_slice, "Contrast (CLAHE)")
    assert out[lung].std() > ct_slice[lung].std()


def test_only_planes() -> None:
    with pytest.raises(ValueError, match="2D plane"):
        apply_view_filter(np.zeros((2, 8, 8)), "Contrast (CLAHE)")
