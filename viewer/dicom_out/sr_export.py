"""Findings → a Comprehensive 3D SR following TID 1500 (Measurement Report), with highdicom.

One measurement group (TID 1410, planar ROI) per finding: the finding's box outline on its centre
slice as SCOORD3D (in patient mm, series with geometry) or as SCOORD on the referenced image
(plain radiographs), the finding type, the model score and operating point, the box extents and,
where a mask exists, its volume; the model's name and version as Algorithm Identification (TID 4019)
whose parameters and the device observer's name say "not for diagnostic use".
"""

from __future__ import annotations

from collections.abc import Sequence

import highdicom as hd
import numpy as np
from highdicom.sr import (
    AlgorithmIdentification,
    Comprehensive3DSR,
    DeviceObserverIdentifyingAttributes,
    GraphicTypeValues,
    GraphicTypeValues3D,
    ImageRegion,
    ImageRegion3D,
    Measurement,
    MeasurementReport,
    ObservationContext,
    ObserverContext,
    PlanarROIMeasurementsAndQualitativeEvaluations,
    QualitativeEvaluation,
    SourceImageForRegion,
    TrackingIdentifier,
)
from pydicom.sr.codedict import codes
from pydicom.uid import generate_uid

from ai.findings import Finding
from viewer.dicom_out import codes as rc
from viewer.dicom_out.source import DicomOutError, SourceSeries

SR_SERIES_NUMBER = 9001
DEVICE_UID = generate_uid(entropy_srcs=["RadSight AI device observer"])


def build_sr(findings: Sequence[Finding], source: SourceSeries, *,
             series_number: int = SR_SERIES_NUMBER) -> Comprehensive3DSR:
    """The SR of one analysed series (an empty Measurement Report where nothing was found)."""
    groups = [_measurement_group(f, source) for f in findings]
    report = MeasurementReport(observation_context=_observation_context(),
                               procedure_reported=_procedure(source),
                               imaging_measurements=groups or None)
    sr = Comprehensive3DSR(
        evidence=list(source.datasets), content=report[0], series_instance_uid=hd.UID(),
        series_number=series_number, sop_instance_uid=hd.UID(), instance_number=1,
        manufacturer=rc.MANUFACTURER, is_complete=True, is_final=False, is_verified=False,
        series_description=f"RadSight AI findings ({rc.DISCLAIMER})")
    sr.CodingSchemeIdentificationSequence = [rc.coding_scheme_identification()]
    return sr


def _observation_context() -> ObservationContext:
    device = DeviceObserverIdentifyingAttributes(
        uid=DEVICE_UID, name=rc.DEVICE_NAME, manufacturer_name=rc.MANUFACTURER,
        model_name=f"RadSight ({rc.DISCLAIMER})")
    return ObservationContext(observer_device_context=ObserverContext(
        observer_type=codes.DCM.Device, observer_identifying_attributes=device))


def _procedure(source: SourceSeries) -> hd.sr.CodedConcept:
    if str(getattr(source.first, "Modality", "")) == "CT":
        return codes.LN.CTUnspecifiedBodyRegion
    return codes.SCT.ImagingProcedure


def _measurement_group(finding: Finding,
                       source: SourceSeries) -> PlanarROIMeasurementsAndQualitativeEvaluations:
    algorithm = _algorithm(finding)
    return PlanarROIMeasurementsAndQualitativeEvaluations(
        tracking_identifier=TrackingIdentifier(uid=hd.UID(), identifier=f"{finding.label}/{finding.id}"),
        referenced_region=_region(finding, source),
        finding_type=rc.finding_type(finding.label),
        algorithm_id=algorithm,
        measurements=_measurements(finding, source, algorithm),
        qualitative_evaluations=[_operating_point_result(finding)])


def _algorithm(finding: Finding) -> AlgorithmIdentification:
    parameters = [rc.DISCLAIMER]
    if finding.explanation_method:
        parameters.append(f"explanation: {finding.explanation_method}")
    return AlgorithmIdentification(name=finding.model, version=finding.model_version,
                                   parameters=parameters, manufacturer=rc.MANUFACTURER)


# --- location ---------------------------------------------------------------------------------
def _outline_kji(finding: Finding) -> np.ndarray:
    """The box outline on its centre slice as a closed polygon of voxel indices (or the centre)."""
    if finding.box_kji is None:
        if finding.center_kji is None:
            raise DicomOutError(f"finding {finding.id} has neither a box nor a centre")
        return np.asarray([finding.center_kji], float)
    k0, j0, i0, k1, j1, i1 = finding.box_kji
    k = finding.center_kji[0] if finding.center_kji is not None else (k0 + k1 - 1) / 2
    corners = [(j0, i0), (j0, i1), (j1, i1), (j1, i0), (j0, i0)]
    return np.asarray([(k, j - 0.5, i - 0.5) for j, i in corners], float)


def _region(finding: Finding, source: SourceSeries) -> ImageRegion | ImageRegion3D:
    outline = _outline_kji(finding)
    if source.has_3d_geometry:
        points = np.asarray(source.volume.index_to_patient(outline), float).reshape(-1, 3)
        kind = GraphicTypeValues3D.POINT if len(points) == 1 else GraphicTypeValues3D.POLYGON
        return ImageRegion3D(graphic_type=kind, graphic_data=points,
                             frame_of_reference_uid=source.frame_of_reference_at(int(round(outline[0, 0]))))
    k = int(round(outline[0, 0]))
    frame = source.frame_number(k)
    reference = SourceImageForRegion.from_source_image(
        source.dataset_at(k), referenced_frame_numbers=None if frame is None else [frame])
    # SCOORD: (column, row) with 0.0\0.0 the top left corner of the top left pixel.
    pixels = outline[:, [2, 1]] + 0.5
    kind = GraphicTypeValues.POINT if len(pixels) == 1 else GraphicTypeValues.POLYLINE
    return ImageRegion(graphic_type=kind, graphic_data=pixels, source_image=reference)


# --- measurements -----------------------------------------------------------------------------
def _measurements(finding: Finding, source: SourceSeries,
                  algorithm: AlgorithmIdentification) -> list[Measurement]:
    values = [(rc.SCORE, float(finding.score), rc.NO_UNITS)]
    if finding.threshold is not None:
        values.append((rc.OPERATING_POINT, float(finding.threshold), rc.NO_UNITS))
    if finding.size_mm is not None and source.volume.has_geometry:
        extents = zip((rc.BOX_EXTENT_K, rc.BOX_EXTENT_J, rc.BOX_EXTENT_I), finding.size_mm, strict=True)
        values += [(name, float(v), rc.MM) for name, v in extents if not (source.volume.is_2d
                                                                            and name is rc.BOX_EXTENT_K)]
    if finding.mask is not None and source.volume.has_geometry:
        voxel_mm3 = float(np.prod(source.volume.spacing))
        values.append((rc.VOLUME, float(np.count_nonzero(finding.mask)) * voxel_mm3, rc.MM3))
    return [Measurement(name=name, value=value, unit=unit, algorithm_id=algorithm)
            for name, value, unit in values]


def _operating_point_result(finding: Finding) -> QualitativeEvaluation:
    value = (rc.radsight_code("passes", "Score passes the operating point")
             if finding.passes_operating_point
             else rc.radsight_code("below", "Score below the operating point"))
    return QualitativeEvaluation(name=rc.radsight_code("op-result", "Operating point result"),
                                 value=value)
