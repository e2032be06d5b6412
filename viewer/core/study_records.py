"""What the study database keeps of one DICOM instance, and what its queries return.

Names, IDs and dates are kept here to be searched and shown; they are never logged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pydicom.dataset import Dataset
from pydicom.multival import MultiValue


class MissingUIDError(ValueError):
    """A data set without the UIDs that place it in patient → study → series → instance."""


UID_KEYWORDS = ("SOPInstanceUID", "SeriesInstanceUID", "StudyInstanceUID")
TEXT_KEYWORDS = ("SOPClassUID", "PatientID", "PatientName", "PatientBirthDate", "PatientSex", "StudyDate",
                 "StudyTime", "StudyDescription", "AccessionNumber", "Modality", "SeriesDescription",
                 "BodyPartExamined", "SpecificCharacterSet")
NUMBER_KEYWORDS = ("InstanceNumber", "SeriesNumber")
Getter = Callable[[str], str]


def dataset_getter(ds: Dataset) -> Getter:
    def get(keyword: str) -> str:
        value = ds.get(keyword, "")
        if isinstance(value, MultiValue):
            value = "\\".join(str(v) for v in value)
        return "" if value is None else str(value).strip()

    return get


def _integer(text: str) -> int | None:
    try:
        return int(text) if text else None
    except ValueError:
        return None


@dataclass(frozen=True)
class InstanceRecord:
    """The searched and shown tags of one instance, and where its file is."""

    sop_instance_uid: str
    sop_class_uid: str
    series_instance_uid: str
    study_instance_uid: str
    transfer_syntax_uid: str = ""
    instance_number: int | None = None
    patient_id: str = ""
    patient_name: str = ""
    patient_birth_date: str = ""
    patient_sex: str = ""
    study_date: str = ""
    study_time: str = ""
    study_description: str = ""
    accession_number: str = ""
    modality: str = ""
    series_number: int | None = None
    series_description: str = ""
    body_part_examined: str = ""
    path: str = ""
    size: int = 0
    managed: bool = False

    @classmethod
    def from_dataset(cls, ds: Dataset) -> InstanceRecord:
        """Read the record from a data set; raises :class:`MissingUIDError` without its UIDs."""
        meta = getattr(ds, "file_meta", None)
        syntax = str(meta.get("TransferSyntaxUID", "")) if meta is not None else ""
        return cls.from_values(dataset_getter(ds), syntax)

    @classmethod
    def from_values(cls, get: Getter, transfer_syntax_uid: str = "") -> InstanceRecord:
        """The record from ``get(keyword) -> text`` (a data set's, or a header scan's)."""
        uids = [get(k) for k in UID_KEYWORDS]
        missing = [k for k, v in zip(UID_KEYWORDS, uids, strict=True) if not v]
        if missing:
            raise MissingUIDError(f"no {', '.join(missing)}: cannot be filed in the study database")
        return cls(
            sop_instance_uid=uids[0], series_instance_uid=uids[1], study_instance_uid=uids[2],
            sop_class_uid=get("SOPClassUID"), transfer_syntax_uid=transfer_syntax_uid,
            instance_number=_integer(get("InstanceNumber")), patient_id=get("PatientID"),
            patient_name=get("PatientName"), patient_birth_date=get("PatientBirthDate"),
            patient_sex=get("PatientSex"), study_date=get("StudyDate"), study_time=get("StudyTime"),
            study_description=get("StudyDescription"), accession_number=get("AccessionNumber"),
            modality=get("Modality"), series_number=_integer(get("SeriesNumber")),
            series_description=get("SeriesDescription"), body_part_examined=get("BodyPartExamined"))


@dataclass(frozen=True)
class StudyRow:
    """One study as the browser and ``radsight db list`` show it."""

    study_instance_uid: str
    patient_id: str
    patient_name: str
    patient_birth_date: str
    study_date: str
    study_time: str
    study_description: str
    accession_number: str
    modalities: tuple[str, ...]
    n_series: int
    n_instances: int


@dataclass(frozen=True)
class SeriesRow:
    series_instance_uid: str
    study_instance_uid: str
    modality: str
    series_number: int | None
    series_description: str
    body_part_examined: str
    n_instances: int


@dataclass(frozen=True)
class StoredInstance:
    """One instance row: its UIDs and its file."""

    sop_instance_uid: str
    sop_class_uid: str
    series_instance_uid: str
    study_instance_uid: str
    transfer_syntax_uid: str
    instance_number: int | None
    path: Path
    size: int
    managed: bool
