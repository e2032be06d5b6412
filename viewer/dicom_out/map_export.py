"""A finding's explanation map → a DICOM Parametric Map (highdicom.pm) on the source slices.

The map (float in [0, 1] on the image grid ``[k, j, i]``) is stored as 32-bit float frames for the
slices where it is non-zero (at most the whole series), each frame referencing its source slice,
with a Real World Value Mapping that names it an explanation map, not a measurement.
"""

from __future__ import annotations

import highdicom as hd
import numpy as np
from highdicom.pm import ParametricMap, RealWorldValueMapping

from ai.findings import Finding
from viewer.dicom_out import codes as rc
from viewer.dicom_out.source import DicomOutError, SourceSeries

MAP_SERIES_NUMBER = 9003


def build_map(finding: Finding, heat: np.ndarray, source: SourceSeries, *,
              series_number: int = MAP_SERIES_NUMBER, instance_number: int = 1) -> ParametricMap:
    """The explanation map of one finding on the slices it covers."""
    if heat.shape != source.volume.shape:
        raise DicomOutError(f"the map's shape {heat.shape} is not the series' {source.volume.shape}")
    if len(source.volume.sop_instance_uids) != source.volume.shape[0]:
        raise DicomOutError("the series was resampled: its slices do not map one-to-one to instances")
    k0, k1 = _nonzero_slices(heat)
    method = finding.explanation_method or "explanation"
    mapping = RealWorldValueMapping(
        lut_label="explanation", lut_explanation=f"{method} of {finding.model} ({rc.DISCLAIMER})"[:64],
        unit=rc.NO_UNITS, value_range=(0.0, 1.0), slope=1.0, intercept=0.0,
        quantity_definition=rc.EXPLANATION_MAP)
    pm = ParametricMap(
        source_images=source.unified_datasets(k0, k1), pixel_array=np.ascontiguousarray(
            heat[k0:k1], dtype=np.float32), series_instance_uid=hd.UID(), series_number=series_number,
        sop_instance_uid=hd.UID(), instance_number=instance_number, manufacturer=rc.MANUFACTURER,
        manufacturer_model_name=f"RadSight ({rc.DISCLAIMER})",
        software_versions=f"{finding.model} {finding.model_version}"[:64], device_serial_number="0",
        contains_recognizable_visual_features=False, real_world_value_mappings=[mapping],
        voi_lut_transformations=[hd.VOILUTTransformation(window_center=0.5, window_width=1.0)],
        content_label="EXPLANATION",
        content_description=f"{finding.label}/{finding.id} {method}"[:64],
        series_description=f"RadSight AI explanation ({rc.DISCLAIMER})")
    pm.Laterality = getattr(source.first, "Laterality", "")  # General Series, type 2C
    return pm


def _nonzero_slices(heat: np.ndarray) -> tuple[int, int]:
    active = np.flatnonzero(heat.reshape(heat.shape[0], -1).max(axis=1) > 0)
    if active.size == 0:
        raise DicomOutError("the explanation map is empty")
    return int(active[0]), int(active[-1]) + 1
