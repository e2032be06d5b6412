"""Finding masks → a binary DICOM Segmentation (highdicom.seg), one segment per finding.

A finding's mask covers its box's integer crop (`SourceSeries.index_range`); it is placed on the
source series' grid, so each SEG frame references the source slice it lies on. Only findings with a
mask take part; series whose volume was resampled (tilted, irregular) have no slice per instance
and get no SEG.
"""

from __future__ import annotations

from collections.abc import Sequence

import highdicom as hd
import numpy as np
from highdicom.seg import (
    SegmentAlgorithmTypeValues,
    Segmentation,
    SegmentationTypeValues,
    SegmentDescription,
)
from pydicom.sr.codedict import codes

from ai.findings import Finding
from viewer.dicom_out import codes as rc
from viewer.dicom_out.source import DicomOutError, SourceSeries

SEG_SERIES_NUMBER = 9002


def findings_with_masks(findings: Sequence[Finding]) -> list[Finding]:
    return [f for f in findings if f.mask is not None and f.box_kji is not None]


def build_seg(findings: Sequence[Finding], source: SourceSeries, *,
              series_number: int = SEG_SERIES_NUMBER) -> Segmentation:
    """One binary segment per masked finding, on the frames the masks touch."""
    masked = findings_with_masks(findings)
    if not masked:
        raise DicomOutError("no finding has a mask")
    if len(source.volume.sop_instance_uids) != source.volume.shape[0]:
        raise DicomOutError("the series was resampled: its slices do not map one-to-one to instances")
    labels = np.stack([_full_mask(f, source) for f in masked], axis=-1)
    return Segmentation(
        source_images=source.unified_datasets(0, source.volume.shape[0]), pixel_array=labels,
        segmentation_type=SegmentationTypeValues.BINARY,
        segment_descriptions=[_description(n, f) for n, f in enumerate(masked, 1)],
        series_instance_uid=hd.UID(), series_number=series_number, sop_instance_uid=hd.UID(),
        instance_number=1, manufacturer=rc.MANUFACTURER,
        manufacturer_model_name=f"RadSight ({rc.DISCLAIMER})", software_versions=_versions(masked),
        device_serial_number="0", series_description=f"RadSight AI masks ({rc.DISCLAIMER})",
        omit_empty_frames=True)


def _full_mask(finding: Finding, source: SourceSeries) -> np.ndarray:
    full = np.zeros(source.volume.shape, dtype=bool)
    lo, hi = source.index_range(finding.box_kji)
    mask = np.asarray(finding.mask, dtype=bool)
    crop = tuple(slice(0, int(min(m, h - low))) for m, low, h in zip(mask.shape, lo, hi, strict=True))
    full[lo[0]:lo[0] + mask[crop].shape[0], lo[1]:lo[1] + mask[crop].shape[1],
         lo[2]:lo[2] + mask[crop].shape[2]] = mask[crop]
    if not full.any():
        raise DicomOutError(f"the mask of finding {finding.id} is empty inside the image")
    return full


def _description(number: int, finding: Finding) -> SegmentDescription:
    algorithm = hd.AlgorithmIdentificationSequence(
        name=finding.model, family=codes.cid7162.ArtificialIntelligence, version=finding.model_version,
        source=rc.MANUFACTURER, parameters={"disclaimer": rc.DISCLAIMER, "finding": finding.id})
    return SegmentDescription(
        segment_number=number, segment_label=f"{finding.label}/{finding.id}"[:64],
        segmented_property_category=codes.SCT.MorphologicallyAbnormalStructure,
        segmented_property_type=rc.finding_type(finding.label),
        algorithm_type=SegmentAlgorithmTypeValues.AUTOMATIC, algorithm_identification=algorithm,
        tracking_uid=hd.UID(), tracking_id=f"{finding.label}/{finding.id}"[:64])


def _versions(findings: Sequence[Finding]) -> str:
    return "\\".join(sorted({f"{f.model} {f.model_version}"[:64] for f in findings}))
