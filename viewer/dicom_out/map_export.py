"""A finding's explanation map → a DICOM Parametric Map (highdicom.pm) on the source slices.

The map (float in [0, 1] on the image grid ``[k, j, i]``) is stored as 16-bit frames (value x 65535;
the Real World Value Mapping gives back [0, 1] and names it an explanation map, not a measurement)
for the slices of the finding's box (the slice of its centre without a box), each frame referencing
its source slice. Whole-series maps would cost ~0.5 MB per slice per finding.
"""

from __future__ import annotations

import highdicom as hd
import numpy as np
from highdicom.pm import ParametricMap, RealWorldValueMapping

from ai.findings import Finding
from ai.region_map import ExplanationMap, map_slice
from viewer.dicom_out import codes as rc
from viewer.dicom_out.source import DicomOutError, SourceSeries

MAP_SERIES_NUMBER = 9003
LEVELS = 65535


def build_map(finding: Finding, heat: ExplanationMap, source: SourceSeries, *,
              series_number: int = MAP_SERIES_NUMBER, instance_number: int = 1) -> ParametricMap:
    """The explanation map of one finding on the slices it covers."""
    if tuple(heat.shape) != tuple(source.volume.shape):
        raise DicomOutError(f"the map's shape {heat.shape} is not the series' {source.volume.shape}")
    source.check_one_instance_per_slice()
    k0, k1 = _slices(finding, heat.shape[0])
    method = finding.explanation_method or "explanation"
    mapping = RealWorldValueMapping(
        lut_label="explanation", lut_explanation=f"{method} of {finding.model} ({rc.DISCLAIMER})"[:64],
        unit=rc.NO_UNITS, value_range=(0, LEVELS), slope=1.0 / LEVELS, intercept=0.0,
        quantity_definition=rc.EXPLANATION_MAP)
    pm = ParametricMap(
        source_images=source.unified_datasets(k0, k1),
        pixel_array=_levels(np.stack([map_slice(heat, k) for k in range(k0, k1)])),
        series_instance_uid=hd.UID(), series_number=series_number,
        sop_instance_uid=hd.UID(), instance_number=instance_number, manufacturer=rc.MANUFACTURER,
        manufacturer_model_name=f"RadSight ({rc.DISCLAIMER})",
        software_versions=f"{finding.model} {finding.model_version}"[:64], device_serial_number="0",
        contains_recognizable_visual_features=False, real_world_value_mappings=[mapping],
        voi_lut_transformations=[hd.VOILUTTransformation(window_center=LEVELS / 2, window_width=LEVELS)],
        content_label="EXPLANATION",
        content_description=f"{finding.label}/{finding.id} {method}"[:64],
        series_description=f"RadSight AI explanation ({rc.DISCLAIMER})")
    pm.Laterality = getattr(source.first, "Laterality", "")  # General Series, type 2C
    return pm


def _slices(finding: Finding, depth: int) -> tuple[int, int]:
    """The slices of the finding's box, or of its centre."""
    if finding.box_kji is not None:
        k0 = int(np.clip(np.floor(finding.box_kji[0]), 0, depth - 1))
        return k0, int(np.clip(np.ceil(finding.box_kji[3]), k0 + 1, depth))
    if finding.center_kji is not None:
        k = int(np.clip(round(finding.center_kji[0]), 0, depth - 1))
        return k, k + 1
    raise DicomOutError(f"finding {finding.id} has neither a box nor a centre")


def _levels(heat: np.ndarray) -> np.ndarray:
    return np.round(np.clip(np.nan_to_num(heat), 0.0, 1.0) * LEVELS).astype(np.uint16)
