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
MAX_SEGMENTS = 64


def findings_with_masks(findings: Sequence[Finding]) -> list[Finding]:
    return [f for f in findings if f.mask is not None and f.box_kji is not None]


def build_seg(findings: Sequence[Finding], source: SourceSeries, *, series_number: int = SEG_SERIES_NUMBER,
              notes: list[str] | None = None) -> Segmentation:
    """One binary segment per masked finding (the ``MAX_SEGMENTS`` best-scoring), on the frames
    the masks touch; a mask that overlaps a better-scoring one is left out (said in ``notes``).
    Memory stays at one 16-bit label per voxel of those slices."""
    masked = sorted(findings_with_masks(findings), key=lambda f: -f.score)[:MAX_SEGMENTS]
    if not masked:
        raise DicomOutError("no finding has a mask")
    source.check_one_instance_per_slice()
    k0, k1, labels, kept = _label_map(masked, source)
    if notes is not None and len(kept) < len(masked):
        notes.append(f"seg.dcm leaves out {len(masked) - len(kept)} mask(s) that overlap a "
                     "better-scoring finding's")
    return Segmentation(
        source_images=source.unified_datasets(k0, k1), pixel_array=labels,
        segmentation_type=SegmentationTypeValues.BINARY,
        segment_descriptions=[_description(n, f) for n, f in enumerate(kept, 1)],
        series_instance_uid=hd.UID(), series_number=series_number, sop_instance_uid=hd.UID(),
        instance_number=1, manufacturer=rc.MANUFACTURER,
        manufacturer_model_name=f"RadSight ({rc.DISCLAIMER})", software_versions=_versions(kept),
        device_serial_number="0", series_description=f"RadSight AI masks ({rc.DISCLAIMER})",
        omit_empty_frames=True)


def _label_map(masked: Sequence[Finding],
               source: SourceSeries) -> tuple[int, int, np.ndarray, list[Finding]]:
    """Slices ``[k0, k1)`` the masks touch, their labels there (value n = segment n) and the
    findings kept (in segment order; masks overlapping an earlier one are skipped)."""
    placed = [_placed(f, source) for f in masked]
    k0 = min(lo[0] for lo, _ in placed)
    k1 = max(lo[0] + mask.shape[0] for lo, mask in placed)
    labels = np.zeros((k1 - k0, *source.volume.shape[1:]), dtype=np.uint16)
    kept: list[Finding] = []
    for (lo, mask), finding in zip(placed, masked, strict=True):
        region = labels[lo[0] - k0:lo[0] - k0 + mask.shape[0], lo[1]:lo[1] + mask.shape[1],
                        lo[2]:lo[2] + mask.shape[2]]
        if not region[mask].any():
            kept.append(finding)
            region[mask] = len(kept)
    return k0, k1, labels, kept


def _placed(finding: Finding, source: SourceSeries) -> tuple[np.ndarray, np.ndarray]:
    """Where the finding's mask starts on the grid and the part of it inside the image."""
    lo, hi = source.index_range(finding.box_kji)
    mask = np.asarray(finding.mask, dtype=bool)
    inside = (slice(0, int(max(0, min(m, h - low)))) for m, low, h in zip(mask.shape, lo, hi, strict=True))
    mask = mask[tuple(inside)]
    if not mask.any():
        raise DicomOutError(f"the mask of finding {finding.id} is empty inside the image")
    return lo, mask


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
