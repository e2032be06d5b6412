"""Known geometry written as real DICOM files: a marker must land at its true LPS position.

Each case writes a small CT series with pydicom (orientation, slice order, file names and
InstanceNumbers chosen to mislead), loads it, and checks where the marker voxel is in patient
space. A loader that sorted by file name or InstanceNumber, or flipped an axis, fails here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

from viewer.core.series_loader import load_series

ROWS, COLS, SLICES = 12, 10, 8
PIXEL = (0.7, 0.9)  # (row spacing, column spacing) mm
STEP = 2.5
MARKER = (5, 3, 7)  # acquisition indices [slice, row, column] of the bright voxel


def _write_series(folder: Path, orientation: list[float], origin: np.ndarray, step_sign: float,
                  reverse_instance_numbers: bool) -> np.ndarray:
    """Write SLICES files; returns the marker's true LPS position."""
    row_dir, col_dir = np.array(orientation[:3]), np.array(orientation[3:])
    normal = np.cross(row_dir, col_dir) * step_sign
    series, study = generate_uid(), generate_uid()
    marker_xyz = None
    for s in range(SLICES):
        pixels = np.full((ROWS, COLS), 1000, dtype=np.uint16)  # -24 HU after rescale
        position = origin + s * STEP * normal
        if s == MARKER[0]:
            pixels[MARKER[1], MARKER[2]] = 3000
            marker_xyz = position + MARKER[2] * PIXEL[1] * row_dir + MARKER[1] * PIXEL[0] * col_dir
        number = SLICES - s if reverse_instance_numbers else s + 1
        _write_slice(folder / f"IMG{(s * 5) % SLICES:03d}_{s}.dcm", pixels, position, orientation,
                     number, series, study)
    return marker_xyz  # type: ignore[return-value]


def _write_slice(path: Path, pixels: np.ndarray, position: np.ndarray, orientation: list[float],
                 number: int, series: str, study: str) -> None:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CTImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = CTImageStorage, meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.Modality = study, series, "CT"
    ds.InstanceNumber = number
    ds.ImagePositionPatient = [float(v) for v in position]
    ds.ImageOrientationPatient = orientation
    ds.PixelSpacing = list(PIXEL)
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.RescaleSlope, ds.RescaleIntercept = 1, -1024
    ds.PixelData = pixels.tobytes()
    ds.save_as(path, enforce_file_format=True)


CASES = {
    "axial head-first": ([1, 0, 0, 0, 1, 0], 1.0, False),
    "axial, slices stepping inferiorly": ([1, 0, 0, 0, 1, 0], -1.0, True),
    "coronal": ([1, 0, 0, 0, 0, -1], 1.0, True),
    "sagittal": ([0, 1, 0, 0, 0, -1], -1.0, False),
    "oblique": ([0.8660254, 0.5, 0, -0.5, 0.8660254, 0], 1.0, True),
}


@pytest.mark.parametrize("name", list(CASES))
def test_marker_lands_at_its_true_patient_position(tmp_path: Path, name: str) -> None:
    orientation, step_sign, reverse = CASES[name]
    origin = np.array([-30.0, 12.5, 100.0])
    truth = _write_series(tmp_path, orientation, origin, step_sign, reverse)
    volume = load_series(tmp_path).volume
    assert not volume.resampled and volume.warnings == ()
    assert volume.shape == (SLICES, ROWS, COLS)
    assert volume.spacing == pytest.approx((STEP, *PIXEL))
    k, j, i = np.unravel_index(np.argmax(volume.voxels), volume.shape)
    assert volume.voxels[k, j, i] == 3000 - 1024
    assert np.allclose(volume.index_to_patient((k, j, i)), truth, atol=1e-4)
    assert np.allclose(volume.patient_to_index(truth), (k, j, i), atol=1e-4)
    # slices run along +normal of the stored orientation, whatever the acquisition order
    normal = np.cross(orientation[:3], orientation[3:])
    z = [volume.slice_position(n) @ normal for n in range(SLICES)]
    assert np.all(np.diff(z) > 0)
