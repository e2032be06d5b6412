"""RadSight's own SEG (written by `seg_export`) → full-volume masks by finding id.

Each frame is placed on the slice of the source instance it references; the segment's tracking
id (``label/id``) names the finding. Frames referencing instances outside the volume are an error.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset

from ai.findings import Finding
from viewer.core.volume import Volume
from viewer.dicom_out import codes as rc
from viewer.dicom_out.source import DicomOutError

SEG_CLASS = "1.2.840.10008.5.1.4.1.1.66.4"


def read_seg_masks(path: Path, volume: Volume) -> dict[str, np.ndarray]:
    """Finding id → bool mask on ``volume``'s grid."""
    ds = pydicom.dcmread(path)
    if str(ds.SOPClassUID) != SEG_CLASS or str(getattr(ds, "Manufacturer", "")) != rc.MANUFACTURER:
        raise DicomOutError(f"{path.name} is not a RadSight segmentation")
    ids = {int(s.SegmentNumber): _finding_id(s) for s in ds.SegmentSequence}
    masks = {finding_id: np.zeros(volume.shape, dtype=bool) for finding_id in ids.values()}
    frames = ds.pixel_array.reshape(-1, int(ds.Rows), int(ds.Columns)).astype(bool)
    slice_of = {uid: k for k, uid in enumerate(volume.sop_instance_uids)}
    shared = ds.SharedFunctionalGroupsSequence[0]
    for frame, group in zip(frames, ds.PerFrameFunctionalGroupsSequence, strict=True):
        uid = str(group.DerivationImageSequence[0].SourceImageSequence[0].ReferencedSOPInstanceUID)
        if uid not in slice_of:
            raise DicomOutError(f"{path.name} references an instance that is not in this series")
        identification = group if "SegmentIdentificationSequence" in group else shared
        segment = int(identification.SegmentIdentificationSequence[0].ReferencedSegmentNumber)
        masks[ids[segment]][slice_of[uid]] |= frame
    return masks


def _finding_id(segment: Dataset) -> str:
    label = str(getattr(segment, "TrackingID", "") or segment.SegmentLabel)
    return label.partition("/")[2] or label


def with_masks(findings: list[Finding], masks: dict[str, np.ndarray]) -> list[Finding]:
    """The findings with their box crop of the SEG mask attached (others unchanged)."""
    out = []
    for finding in findings:
        full = masks.get(finding.id)
        if full is None or finding.box_kji is None:
            out.append(finding)
            continue
        lo = np.floor(np.asarray(finding.box_kji[:3]) + 1e-6).astype(int).clip(0)
        hi = np.ceil(np.asarray(finding.box_kji[3:]) - 1e-6).astype(int)
        out.append(replace(finding, mask=full[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]].copy()))
    return out
