"""Loading edge cases on real files: tilt, multi-frame, transfer syntaxes, radiographs, images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest

from viewer.core.dicom_index import index_path
from viewer.core.series_loader import load_series


def test_gantry_tilt_and_variable_spacing_are_reported_and_regularised(dicom_data: Path) -> None:
    result = load_series(dicom_data / "ge-head-ct-gantry-tilt" / "series")
    volume, acquired = result.volume, result.acquired
    assert any("gantry tilt of 18.5°" in w for w in volume.warnings)
    assert any("non-uniform slice spacing (1.08–7.00 mm)" in w for w in volume.warnings)
    assert volume.resampled and acquired is not None and not acquired.resampled
    assert acquired.shape == (28, 512, 512)
    # regular grid: orthonormal axes, the finest acquired step, every acquired slice covered
    assert np.allclose(volume.direction.T @ volume.direction, np.eye(3), atol=1e-6)
    assert volume.spacing[0] == pytest.approx(1.081, abs=1e-3)
    assert volume.spacing[1:] == pytest.approx((0.4882812, 0.4882812))


def test_resampled_tilt_volume_keeps_anatomy_in_place(dicom_data: Path) -> None:
    """Patches of acquired slices reappear at their LPS position in the resampled volume.

    Acquired planes fall between grid planes and are shifted in-plane by a fraction of a pixel,
    so patch means (not single noisy voxels), linearly interpolated between the two grid planes
    around the acquired one, are compared. Reading the same patch while ignoring the tilt's
    in-plane shift must be clearly worse: the test can fail.
    """
    result = load_series(dicom_data / "ge-head-ct-gantry-tilt" / "series")
    volume, acquired = result.volume, result.acquired
    frames = sorted(index_path(dicom_data / "ge-head-ct-gantry-tilt" / "series").series[0].frames,
                    key=lambda f: f.position[2])
    rng = np.random.default_rng(0)
    errors, untilted_errors = [], []
    for k in (0, 9, 27):  # first, middle (4 mm steps), last acquired slice (7 mm steps)
        origin = np.array(frames[k].position)
        row_dir, col_dir = np.array(frames[k].orientation[:3]), np.array(frames[k].orientation[3:])
        for j, i in rng.integers(120, 380, size=(25, 2)):
            xyz = origin + i * 0.4882812 * row_dir + j * 0.4882812 * col_dir
            kf, jf, i_f = volume.patient_to_index(xyz)
            jj, ii = round(jf), round(i_f)
            expected = acquired.voxels[k, j - 4:j + 4, i - 4:i + 4].mean()
            errors.append(abs(_patch_mean(volume.voxels, kf, jj, ii) - expected))
            j0 = jj - round((origin - frames[0].position) @ col_dir / 0.4882812)
            untilted_errors.append(abs(_patch_mean(volume.voxels, kf, j0, ii) - expected))
    assert np.median(errors) < 10, f"median patch error {np.median(errors):.1f} HU"
    assert np.median(untilted_errors) > 3 * np.median(errors)


def _patch_mean(voxels: np.ndarray, kf: float, j: int, i: int) -> float:
    k0 = min(int(np.floor(kf)), voxels.shape[0] - 2)
    w = kf - k0
    patch = lambda k: voxels[k, j - 4:j + 4, i - 4:i + 4].mean()  # noqa: E731
    return (1 - w) * patch(k0) + w * patch(k0 + 1)


def test_all_transfer_syntaxes_decode_to_identical_pixels(dicom_data: Path) -> None:
    files = sorted((dicom_data / "dcm_qa_ts" / "files").glob("*.dcm"))
    assert len(files) == 9
    syntaxes = {str(pydicom.dcmread(f, stop_before_pixels=True).file_meta.TransferSyntaxUID)
                for f in files}
    assert len(syntaxes) == 7  # 5/6 and 7/8 are the same syntax written by two encoders
    reference = load_series(files[0]).volume.voxels
    for f in files[1:]:
        assert np.array_equal(load_series(f).volume.voxels, reference), f.name


def test_enhanced_multiframe_splits_into_stacks_with_per_frame_rescale(dicom_data: Path) -> None:
    folder = dicom_data / "philips-enhanced-mr" / "series"
    index = index_path(folder)
    assert [s.frame_count for s in index.series] == [32, 32]
    path = index.series[0].files[0]
    ds = pydicom.dcmread(path)
    stored = ds.pixel_array
    for series in index.series:
        volume = load_series(series).volume
        assert volume.shape == (32, 64, 64) and volume.spacing == pytest.approx((4, 4, 4))
        z = [volume.slice_position(k)[2] for k in range(32)]
        assert np.all(np.diff(z) > 0)
        frame = series.frames[0]  # frames are in file order; volume sorted by z (same here)
        group = ds.PerFrameFunctionalGroupsSequence[frame.frame_index]
        slope = float(group.PixelValueTransformationSequence[0].RescaleSlope)
        intercept = float(group.PixelValueTransformationSequence[0].RescaleIntercept)
        expected = stored[frame.frame_index] * slope + intercept
        assert np.allclose(volume.voxels[0], expected, rtol=1e-5)


def test_radiograph_monochrome1_is_flagged_for_inverted_display(dicom_data: Path) -> None:
    path = dicom_data / "pylibjpeg-corpus" / "JPEG2000Lossless" / "RG3_J2KR.dcm"
    volume = load_series(path).volume
    assert volume.is_2d and volume.shape == (1, 1760, 1760)
    assert volume.display_inverted
    assert volume.default_window is not None and volume.default_window.center == 550
    assert not volume.has_geometry and volume.unit == "px"  # no pixel spacing in this file


def test_radiograph_with_pixel_spacing_measures_in_mm(dicom_data: Path) -> None:
    volume = load_series(dicom_data / "pylibjpeg-corpus" / "JPEGLS" / "RG2_JLSN.dcm").volume
    assert volume.is_2d and volume.has_geometry and volume.spacing[1:] == (0.2, 0.2)
    assert not volume.display_inverted


def test_zero_pixel_spacing_is_treated_as_unknown(dicom_data: Path) -> None:
    volume = load_series(dicom_data / "pylibjpeg-corpus" / "JPEG2000" / "RG1_J2KI.dcm").volume
    assert not volume.has_geometry
    assert any("no pixel spacing" in w for w in volume.warnings)


def test_plain_jpeg_opens_as_2d_image_without_geometry(shared_data: Path) -> None:
    jpeg = next((shared_data / "labelled" / "fracatlas").rglob("*.jpg"))
    result = load_series(jpeg)
    volume = result.volume
    assert volume.is_2d and not volume.has_geometry and volume.unit == "px"
    assert volume.voxels.shape[1:] in ((454, 373), (373, 454))
    assert volume.voxels.max() > volume.voxels.min()


def test_folder_with_several_series_loads_largest_and_says_so(tmp_path: Path, dicom_data: Path,
                                                             lidc_dir: Path) -> None:
    for f in sorted(lidc_dir.glob("*.dcm"))[:5]:
        (tmp_path / f"ct_{f.name}").symlink_to(f)
    for f in sorted((dicom_data / "ge-brain-mr-20" / "series").iterdir())[:12]:
        (tmp_path / f"mr_{f.name}").symlink_to(f)
    index = index_path(tmp_path)
    assert sorted(s.modality for s in index.series) == ["CT", "MR"]
    result = load_series(tmp_path)
    assert result.volume.modality == "MR" and result.volume.shape[0] == 12
    assert any("2 series found" in p.message for p in result.problems)
    ct = next(s for s in index.series if s.modality == "CT")
    ct_result = load_series(tmp_path, series_key=ct.series_instance_uid)
    # five shuffled-name files are five scattered slices: irregular, so resampled, as said
    assert (ct_result.acquired or ct_result.volume).shape[0] == 5
    assert ct_result.volume.resampled and ct_result.volume.modality == "CT"
