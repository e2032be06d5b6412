"""What the study database keeps of one DICOM instance, and what its queries return.

Names, IDs and dates are kept here to be searched and shown; they are never logged.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydicom.dataset import Dataset


class MissingUIDError(ValueError):
    """A data set without the UIDs that place it in patient → study → series → instance."""


def _text(ds: Dataset, keyword: str) -> str:
    value = ds.get(keyword, "")
    return "" if value is None else str(value).strip()


def _integer(ds: Dataset, keyword: str) -> int | None:
    try:
        value = ds.get(keyword)
        return None if value in (None, "") else int(value)
    except (TypeError, ValueError):
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
    def from_dataset(cls, ds: Dataset, path: Path | str = "", size: int = 0, managed: bool = False,
                     transfer_syntax_uid: str = "") -> InstanceRecord:
        """Read the record from a data set; raises :class:`MissingUIDError` without its UIDs."""
        uids = [_text(ds, k) for k in ("SOPInstanceUID", "SeriesInstanceUID", "StudyInstanceUID")]
        missing = [k for k, v in zip(("SOPInstanceUID", "SeriesInstanceUID", "StudyInstanceUID"), uids,
                                     strict=True) if not v]
        if missing:
            raise MissingUIDError(f"no {', '.join(missing)}: cannot be filed in the study database")
        meta = getattr(ds, "file_meta", None)
        syntax = transfer_syntax_uid or (_text(meta, "TransferSyntaxUID") if meta is not None else "")
        return cls(
            sop_instance_uid=uids[0], series_instance_uid=uids[1], study_instance_uid=uids[2],
            sop_class_uid=_text(ds, "SOPClassUID"), transfer_syntax_uid=syntax,
            instance_number=_integer(ds, "InstanceNumber"), patient_id=_text(ds, "PatientID"),
            patient_name=_text(ds, "PatientName"), patient_birth_date=_text(ds, "PatientBirthDate"),
            patient_sex=_text(ds, "PatientSex"), study_date=_text(ds, "StudyDate"),
            study_time=_text(ds, "StudyTime"), study_description=_text(ds, "StudyDescription"),
            accession_number=_text(ds, "AccessionNumber"), modality=_text(ds, "Modality"),
            series_number=_integer(ds, "SeriesNumber"), series_description=_text(ds, "SeriesDescription"),
            body_part_examined=_text(ds, "BodyPartExamined"), path=str(path), size=size, managed=managed)


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
