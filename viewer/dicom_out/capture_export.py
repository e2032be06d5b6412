"""A finding's explanation as a Secondary Capture (highdicom.sc): the overlay RadSight shows (the
image, the finding's own heat map, its box and score, "not for diagnostic use") as an RGB image.

Used where a Parametric Map does not fit: images without patient-space geometry (plain
radiographs), whose single frame has no plane position for a map to sit on.
"""

from __future__ import annotations

import highdicom as hd
import numpy as np
from highdicom.sc import SCImage

from ai.findings import Finding
from ai.region_map import ExplanationMap
from viewer.analysis.overlay import finding_image, slice_of
from viewer.dicom_out import codes as rc
from viewer.dicom_out.source import SourceSeries

CAPTURE_SERIES_NUMBER = 9004


def build_capture(finding: Finding, heat: ExplanationMap, source: SourceSeries, *,
                  series_number: int = CAPTURE_SERIES_NUMBER, instance_number: int = 1) -> SCImage:
    """The finding's overlay, in the source's study, referencing the source image."""
    reference = source.dataset_at(slice_of(finding, source.volume.shape[0]))
    pixels = np.asarray(finding_image(source.volume, finding, heat).convert("RGB"), dtype=np.uint8)
    capture = SCImage.from_ref_dataset(
        ref_dataset=reference, pixel_array=pixels, photometric_interpretation="RGB", bits_allocated=8,
        coordinate_system="PATIENT", patient_orientation=_orientation(reference),
        series_instance_uid=hd.UID(), series_number=series_number,
        sop_instance_uid=hd.UID(), instance_number=instance_number, manufacturer=rc.MANUFACTURER,
        series_description=f"RadSight AI explanation ({rc.DISCLAIMER})")
    # The source's own orientation, also where it is empty (unknown): highdicom wants two values
    # to construct, and a made-up orientation would be a geometry claim nobody measured.
    capture.PatientOrientation = reference.get("PatientOrientation", "")
    capture.Laterality = reference.get("Laterality", "")  # General Series, type 2C
    capture.BurnedInAnnotation = "NO"  # the text drawn on it is the finding, not patient data
    method = finding.explanation_method or "explanation"
    capture.DerivationDescription = f"{finding.label}/{finding.id} {method} ({rc.DISCLAIMER})"
    return capture


def _orientation(reference) -> tuple[str, str]:
    values = list(reference.get("PatientOrientation", []) or [])
    return (str(values[0]), str(values[1])) if len(values) == 2 else ("L", "F")
