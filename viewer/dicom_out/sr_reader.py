"""RadSight's own SR (TID 1500, written by `sr_export`) → `Finding` records.

Each planar-ROI measurement group becomes a finding: label and id from its tracking identifier
(``label/id``), model name and version from its Algorithm Identification, score, operating point
and box extents from its measurements, the centre from the region. Given the volume of the series
the SR references, centre and box are also mapped back to voxel indices.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import highdicom as hd
import numpy as np
import pydicom
from highdicom.sr import CodedConcept
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes

from ai.findings import Finding
from viewer.core.volume import Volume
from viewer.dicom_out import codes as rc
from viewer.dicom_out.source import DicomOutError

SR_CLASSES = {"1.2.840.10008.5.1.4.1.1.88.34", "1.2.840.10008.5.1.4.1.1.88.33",
              "1.2.840.10008.5.1.4.1.1.88.22"}


@dataclass(frozen=True)
class SrFindings:
    """The findings of one SR and the series they were found on."""

    series_instance_uid: str
    findings: list[Finding]


def is_radsight_sr(ds: Dataset) -> bool:
    return (str(getattr(ds, "SOPClassUID", "")) in SR_CLASSES
            and str(getattr(ds, "Manufacturer", "")) == rc.MANUFACTURER)


def read_sr(path: Path, volume: Volume | None = None) -> SrFindings:
    """Read an SR file; `DicomOutError` when it is not one of RadSight's."""
    try:
        ds = pydicom.dcmread(path)
    except (pydicom.errors.InvalidDicomError, OSError) as exc:
        raise DicomOutError(f"{path.name} is not a DICOM file ({exc})") from exc
    return sr_findings(ds, volume)


def sr_findings(ds: Dataset, volume: Volume | None = None) -> SrFindings:
    if not is_radsight_sr(ds):
        raise DicomOutError("not a RadSight AI results SR")
    series_uid = _evidence_series(ds)
    report = hd.sr.MeasurementReport.from_sequence([ds])
    findings = [_finding(g, series_uid, volume) for g in report.get_planar_roi_measurement_groups()]
    return SrFindings(series_uid, findings)


def _evidence_series(ds: Dataset) -> str:
    for study in getattr(ds, "CurrentRequestedProcedureEvidenceSequence", []):
        for series in getattr(study, "ReferencedSeriesSequence", []):
            return str(series.SeriesInstanceUID)
    return ""


def _finding(group, series_uid: str, volume: Volume | None) -> Finding:
    label, _, finding_id = str(group.tracking_identifier).partition("/")
    values = {_key(m.name): float(m.value) for m in group.get_measurements()}
    model, version, method = _algorithm(group)
    center_mm, center_kji, box = _location(group.roi, values, volume)
    size = tuple(values[k] for k in ("extent-k", "extent-j", "extent-i") if k in values)
    return Finding(
        model=model, model_version=version, label=label, score=values.get("score", float("nan")),
        passes_operating_point=_passes(group), threshold=values.get("operating-point"),
        center_kji=center_kji, center_mm=center_mm, size_mm=size if len(size) == 3 else None,
        box_kji=box, explanation_method=method, series_instance_uid=series_uid,
        id=finding_id or hd.UID()[-12:])


def _key(name: CodedConcept) -> str:
    if name.scheme_designator == rc.SCHEME:
        return name.value
    return "volume" if name.value == codes.SCT.Volume.value else name.value


def _algorithm(group) -> tuple[str, str, str]:
    """Model name, version and explanation method (an Algorithm Parameter ``explanation: ...``)."""
    def texts(code) -> list[str]:
        return [str(item.TextValue) for item in
                hd.sr.utils.find_content_items(group[0], name=code, recursive=True)]
    name, version = texts(codes.DCM.AlgorithmName), texts(codes.DCM.AlgorithmVersion)
    methods = [p.split(":", 1)[1].strip() for p in texts(codes.DCM.AlgorithmParameters)
               if p.startswith("explanation:")]
    return (name[0] if name else "", version[0] if version else "", methods[0] if methods else "")


def _passes(group) -> bool:
    for evaluation in group.get_qualitative_evaluations():
        if evaluation.name.value == "op-result":
            return evaluation.value.value == "passes"
    return False


# --- location --------------------------------------------------------------------------------
def _location(roi, values: dict[str, float], volume: Volume | None):
    """(centre mm, centre voxel, box voxels) of a region; voxel values need the volume."""
    points = np.asarray(roi.value, float)
    corners = points[:-1] if len(points) > 1 else points
    if isinstance(roi, hd.sr.ImageRegion3D):
        center_mm = tuple(float(v) for v in corners.mean(axis=0))
        if volume is None or not volume.has_geometry:
            return center_mm, None, None
        return center_mm, *_box_from_patient(corners, values, volume)
    k = _slice_of_image(roi, volume)
    (i0, j0), (i1, j1) = corners.min(axis=0), corners.max(axis=0)
    center = (float(k), float(j0 + j1 - 1) / 2, float(i0 + i1 - 1) / 2)
    box = (float(k), float(j0), float(i0), float(k + 1), float(j1), float(i1)) if len(points) > 1 else None
    mm = tuple(float(v) for v in volume.index_to_patient(center)) if volume and volume.has_geometry else None
    return mm, center, box


def _box_from_patient(corners: np.ndarray, values: dict[str, float], volume: Volume):
    kji = np.asarray(volume.patient_to_index(corners), float).reshape(-1, 3)
    k = float(np.mean(kji[:, 0]))
    (j0, i0), (j1, i1) = kji[:, 1:].min(axis=0) + 0.5, kji[:, 1:].max(axis=0) + 0.5
    depth = values.get("extent-k", volume.spacing[0]) / volume.spacing[0]
    k0 = k - (depth - 1) / 2
    box = (k0, float(j0), float(i0), k0 + depth, float(j1), float(i1))
    center = (k, float(j0 + j1 - 1) / 2, float(i0 + i1 - 1) / 2)
    return center, box


def _slice_of_image(roi, volume: Volume | None) -> int:
    """The slice of the referenced image (and frame, in a multi-frame instance) in ``volume``."""
    reference = roi.ReferencedSOPSequence[0] if hasattr(roi, "ReferencedSOPSequence") else None
    if volume is None or reference is None:
        return 0
    uid = str(reference.ReferencedSOPInstanceUID)
    frame = int(reference.get("ReferencedFrameNumber", 1) or 1)
    slices = [k for k, other in enumerate(volume.sop_instance_uids) if other == uid]
    return slices[frame - 1] if len(slices) >= frame else 0
