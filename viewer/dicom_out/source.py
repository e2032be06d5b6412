"""The source series of an analysis: its DICOM headers in the volume's slice order."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset

from viewer.core.volume import Volume


class DicomOutError(Exception):
    """A DICOM result cannot be written or read: the message is the one-line reason."""


@dataclass(frozen=True)
class SourceSeries:
    """Headers of a series' instances (no pixel data) and the volume the findings refer to."""

    datasets: tuple[Dataset, ...]
    volume: Volume

    @property
    def first(self) -> Dataset:
        return self.datasets[0]

    @property
    def frame_of_reference_uid(self) -> str | None:
        return getattr(self.first, "FrameOfReferenceUID", None)

    @property
    def warnings(self) -> list[str]:
        """What is wrong with the source headers that the results work around."""
        uids = {getattr(ds, "FrameOfReferenceUID", None) for ds in self.datasets}
        if len(uids) > 1:
            return [f"the source slices carry {len(uids)} different FrameOfReferenceUIDs (a series "
                    "shares one); the SEG and maps use the first slice's"]
        return []

    def frame_of_reference_at(self, k: int) -> str | None:
        """The FrameOfReferenceUID of the instance holding slice ``k`` (falls back to the first)."""
        try:
            return getattr(self.dataset_at(k), "FrameOfReferenceUID", None)
        except DicomOutError:
            return self.frame_of_reference_uid

    def unified_datasets(self, k0: int, k1: int) -> list[Dataset]:
        """Slices ``k0..k1-1``, copied with one FrameOfReferenceUID when the source disagrees."""
        datasets = self.slice_datasets(k0, k1)
        if not self.warnings:
            return datasets
        copies = [copy.deepcopy(ds) for ds in datasets]
        for ds in copies:
            ds.FrameOfReferenceUID = self.frame_of_reference_uid
        return copies

    @property
    def is_multiframe(self) -> bool:
        return any(int(getattr(ds, "NumberOfFrames", 1) or 1) > 1 for ds in self.datasets)

    def frame_number(self, k: int) -> int | None:
        """The 1-based frame of slice ``k`` in its multi-frame instance (None for single frames)."""
        if not self.is_multiframe:
            return None
        uids = self.volume.sop_instance_uids
        uid = uids[k] if 0 <= k < len(uids) else str(self.first.SOPInstanceUID)
        return 1 + sum(1 for other in uids[:k] if other == uid)

    def check_one_instance_per_slice(self) -> None:
        """SEG and maps reference one source instance per slice: say so where that is not the case."""
        if self.is_multiframe:
            raise DicomOutError("multi-frame source images are not supported for SEG and maps yet")
        if len(self.volume.sop_instance_uids) != self.volume.shape[0]:
            raise DicomOutError("the series was resampled: its slices do not map one-to-one to instances")

    @property
    def has_3d_geometry(self) -> bool:
        """Findings can be placed in patient space (SCOORD3D): a positioned, non-projection volume."""
        return bool(self.volume.has_geometry and self.frame_of_reference_uid)

    def dataset_at(self, k: int) -> Dataset:
        """The instance holding slice ``k`` (the single instance of a 2D or multi-frame series)."""
        uids = self.volume.sop_instance_uids
        if 0 <= k < len(uids):
            return self._by_uid()[uids[k]]
        if len(self.datasets) == 1:
            return self.first
        raise DicomOutError(f"slice {k} cannot be matched to a source instance")

    def slice_datasets(self, k0: int, k1: int) -> list[Dataset]:
        """The instances of slices ``k0..k1-1`` in slice order (one per slice)."""
        return [self.dataset_at(k) for k in range(k0, k1)]

    def _by_uid(self) -> dict[str, Dataset]:
        return {str(ds.SOPInstanceUID): ds for ds in self.datasets}

    def index_range(self, box_kji: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
        """The integer voxel range ``[lo, hi)`` of a box, clipped to the volume."""
        shape = np.asarray(self.volume.shape)
        lo = np.clip(np.floor(np.asarray(box_kji[:3], float)).astype(int), 0, shape)
        hi = np.clip(np.ceil(np.asarray(box_kji[3:], float)).astype(int), lo, shape)
        return lo, hi


# Type 2 patient/study attributes the results copy from their source: some files leave them out.
COPIED_TYPE2 = ("PatientID", "PatientName", "PatientBirthDate", "PatientSex", "AccessionNumber",
                "StudyID", "StudyDate", "StudyTime", "ReferringPhysicianName")


def read_source(paths: Sequence[Path], volume: Volume) -> SourceSeries:
    """Headers of ``paths`` (the series' files); the volume gives the slice order. Missing Type 2
    patient/study attributes are set empty (unknown) on these in-memory headers."""
    if not paths:
        raise DicomOutError("the series has no DICOM files (a plain image cannot be referenced)")
    datasets = tuple(pydicom.dcmread(p, stop_before_pixels=True) for p in sorted(paths))
    for ds in datasets:
        _complete_copied_attributes(ds)
    return SourceSeries(datasets, volume)


def _complete_copied_attributes(ds: Dataset) -> None:
    """What the results copy must be valid: empty Type 2 values where the source left them out,
    and a method (in words) where the source says its identity was removed but not how."""
    for keyword in COPIED_TYPE2:
        if keyword not in ds:
            setattr(ds, keyword, "")
    if (str(ds.get("PatientIdentityRemoved", "")).upper() == "YES" and not ds.get("DeidentificationMethod")
            and "DeidentificationMethodCodeSequence" not in ds):
        ds.DeidentificationMethod = "not stated in the source images"
