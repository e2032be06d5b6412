"""Anonymised export: PS3.15 Basic Application Level Confidentiality Profile, with dicognito.

dicognito (one `Anonymizer` per export, so UIDs map consistently across the export and references
inside sequences follow) replaces names, IDs and every instance UID and shifts dates; on top of it
this module removes private tags (nested sequences included), the profile's free-text and patient
characteristic elements, the birth date, and (by option) every date and time instead of shifting
them; sets Patient Identity Removed / De-identification Method (+ its code sequence); and flags
images that may carry burned-in annotation. Pixel data are copied unchanged.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pydicom
from dicognito.anonymizer import Anonymizer
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.sr.codedict import codes
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID

DateAction = Literal["shift", "remove"]

# Basic profile action X (remove) for elements dicognito leaves in place.
REMOVED_KEYWORDS = (
    "AdditionalPatientHistory", "AdmittingDiagnosesDescription", "Allergies", "CountryOfResidence",
    "DerivationDescription", "EthnicGroup", "ImageComments", "InstitutionAddress", "MedicalAlerts",
    "OtherPatientNames", "PatientAge", "PatientAddress", "PatientBirthName", "PatientBirthTime",
    "PatientComments", "PatientMotherBirthName", "PatientSize", "PatientState", "PatientWeight",
    "PerformedProcedureStepDescription", "PregnancyStatus", "RequestAttributesSequence",
    "RequestedProcedureDescription", "SeriesDescription", "StudyComments", "StudyDescription",
    "AcquisitionComments", "ProtocolName", "DeviceSerialNumber", "PatientInsurancePlanCodeSequence",
)
# May show text in the pixels when BurnedInAnnotation is absent.
PROJECTION_OR_CAPTURE = {"CR", "DX", "MG", "IO", "PX", "RF", "XA", "US", "ES", "XC", "SC", "OT", "GM", "SM"}
SECONDARY_CAPTURE_PREFIX = "1.2.840.10008.5.1.4.1.1.7"


@dataclass
class ExportSummary:
    """What an export wrote (names inside the output folder, never patient data)."""

    written: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    burned_in: list[str] = field(default_factory=list)
    dates: DateAction = "shift"
    study_uids: set[str] = field(default_factory=set)  # the sources' (for the audit log, hashed)


class _DateRemover:
    """A dicognito element handler that empties dates and times instead of shifting them."""

    def __call__(self, dataset: Dataset, element: DataElement) -> bool:
        if element.VR in ("DA", "DT", "TM"):
            element.value = ""
            return True
        return False

    def describe_actions(self) -> Iterable[str]:
        yield "Remove all dates and times"


def new_anonymizer(dates: DateAction = "shift") -> Anonymizer:
    """One anonymizer per export: every file of it shares the UID mapping and date shift."""
    anonymizer = Anonymizer()
    if dates == "remove":
        anonymizer.add_element_handler(_DateRemover())
    return anonymizer


def anonymise_dataset(ds: Dataset, anonymizer: Anonymizer, dates: DateAction = "shift") -> None:
    """Apply the profile to ``ds`` in place."""
    ds.remove_private_tags()
    ds.walk(_remove_listed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # dicognito probes retired keywords
        anonymizer.anonymize(ds)
    ds.file_meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds.file_meta.ImplementationVersionName = "RADSIGHT"
    if "PatientBirthDate" in ds:
        ds.PatientBirthDate = ""
    ds.PatientIdentityRemoved = "YES"
    ds.DeidentificationMethod = "PS3.15 Basic Profile (RadSight, dicognito)"
    ds.DeidentificationMethodCodeSequence = [_code_item(c) for c in _method_codes(dates)]


def _remove_listed(dataset: Dataset, element: DataElement) -> None:
    if element.keyword in REMOVED_KEYWORDS:
        del dataset[element.tag]


def _method_codes(dates: DateAction) -> list:
    method = [codes.DCM.BasicApplicationConfidentialityProfile]
    if dates == "shift":
        method.append(codes.DCM.RetainLongitudinalTemporalInformationModifiedDatesOption)
    return method


def _code_item(code) -> Dataset:
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = (
        code.value, code.scheme_designator, code.meaning)
    return item


def may_have_burned_in_text(ds: Dataset) -> bool:
    """BurnedInAnnotation says YES, or is absent on a radiograph / capture-like image."""
    flag = str(getattr(ds, "BurnedInAnnotation", "")).upper()
    if flag:
        return flag != "NO"
    sop_class = str(getattr(ds, "SOPClassUID", ""))
    return (str(getattr(ds, "Modality", "")).upper() in PROJECTION_OR_CAPTURE
            or sop_class.startswith(SECONDARY_CAPTURE_PREFIX))


def export_anonymised(paths: Iterable[Path], out: Path, dates: DateAction = "shift") -> ExportSummary:
    """Anonymise every DICOM file of ``paths`` into ``out`` as ``NNNNN.dcm``; others are skipped."""
    out.mkdir(parents=True, exist_ok=True)
    anonymizer = new_anonymizer(dates)
    summary = ExportSummary(dates=dates)
    for path in paths:
        try:
            ds = pydicom.dcmread(path)
        except (InvalidDicomError, OSError, ValueError) as exc:
            summary.skipped.append(f"{path.name}: {type(exc).__name__}")
            continue
        name = f"{len(summary.written) + 1:05d}.dcm"
        summary.study_uids.add(str(getattr(ds, "StudyInstanceUID", "")))
        if may_have_burned_in_text(ds):
            summary.burned_in.append(name)
        anonymise_dataset(ds, anonymizer, dates)
        ds.save_as(out / name, enforce_file_format=True)
        summary.written.append(name)
    return summary
