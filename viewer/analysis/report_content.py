"""What a reading report holds (Qt-free): the study's identification, the findings with their maps
and the reader's verdicts, key images and measurements. :mod:`viewer.analysis.report_html` turns
it into one self-contained HTML file; ``radsight report`` and the viewer's File › Report fill it.

Not for diagnostic use.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from ai.findings import Finding
from ai.region_map import ExplanationMap
from viewer.analysis.service import AnalysisResult
from viewer.core.feedback_records import Feedback, MissedFinding, StoredFinding
from viewer.core.feedback_store import FeedbackDB
from viewer.core.measurements import Measurement
from viewer.core.volume import Volume

#: finding → its own explanation map (None without one)
MapLookup = Callable[[Finding], ExplanationMap | None]

# (label, DICOM keyword) of the identification rows, in the order shown
_HEADER_ROWS = (("Patient name", "PatientName"), ("Patient ID", "PatientID"), ("Sex", "PatientSex"),
                ("Study date", "StudyDate"), ("Study", "StudyDescription"),
                ("Accession number", "AccessionNumber"), ("Series", "SeriesDescription"),
                ("Modality", "Modality"), ("Body part", "BodyPartExamined"),
                ("Slice thickness (mm)", "SliceThickness"), ("kVp", "KVP"),
                ("Kernel", "ConvolutionKernel"), ("Institution", "InstitutionName"))


@dataclass(frozen=True)
class ModelLine:
    """A model that ran: name, version, where and how long."""

    name: str
    version: str
    device: str = ""
    seconds: float | None = None


@dataclass
class ReportContent:
    """Everything a report shows (see the module docstring). ``key_slices`` are 0-based axial
    slice indices; the report numbers slices 1-based as the viewer does."""

    volume: Volume
    identification: list[tuple[str, str]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    explanation: MapLookup = lambda finding: None  # noqa: E731 - a default that finds no map
    models: list[ModelLine] = field(default_factory=list)
    analysis_status: str = ""
    verdicts: dict[str, Feedback] = field(default_factory=dict)
    stored: list[StoredFinding] = field(default_factory=list)
    missed: list[MissedFinding] = field(default_factory=list)
    key_slices: list[int] = field(default_factory=list)
    measurements: list[Measurement] = field(default_factory=list)


def format_dicom_date(value: str) -> str:
    """20000101 → 2000-01-01 (other text unchanged)."""
    value = value.strip()
    if len(value) == 8 and value.isdigit():
        return f"{value[:4]}-{value[4:6]}-{value[6:]}"
    return value


def patient_age(dataset: object) -> str:
    """PatientAge as written (``045Y`` → 45 y), else computed from birth and study dates."""
    age = str(getattr(dataset, "PatientAge", "") or "").strip()
    if len(age) == 4 and age[:3].isdigit():
        return f"{int(age[:3])} {age[3].lower()}"
    born, studied = (str(getattr(dataset, k, "") or "") for k in ("PatientBirthDate", "StudyDate"))
    try:
        b, s = date.fromisoformat(format_dicom_date(born)), date.fromisoformat(format_dicom_date(studied))
    except ValueError:
        return age
    return f"{s.year - b.year - ((s.month, s.day) < (b.month, b.day))} y"


def identification_from_header(path: Path | None) -> list[tuple[str, str]]:
    """The identification rows read from one DICOM header (no pixel data); [] when unreadable."""
    if path is None:
        return []
    import pydicom
    from pydicom.errors import InvalidDicomError

    try:
        dataset = pydicom.dcmread(path, stop_before_pixels=True)
    except (InvalidDicomError, OSError, ValueError):
        return []
    rows = [(label, _text(getattr(dataset, keyword, ""))) for label, keyword in _HEADER_ROWS]
    rows.insert(3, ("Age", patient_age(dataset)))
    rows = [(label, format_dicom_date(v) if "date" in label.lower() else v) for label, v in rows]
    return [(label, v or "(not in header)") for label, v in rows[:4]] + [(k, v) for k, v in rows[4:] if v]


def _text(value: object) -> str:
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        return "\\".join(str(v) for v in value)  # type: ignore[union-attr]
    return str(value).replace("^", " ").strip()


def verdicts_of(feedback: Iterable[Feedback | None]) -> dict[str, Feedback]:
    """finding id → latest verdict, for the verdicts that exist."""
    return {f.finding_uid: f for f in feedback if f is not None}


def models_of(findings: Sequence[Finding]) -> list[ModelLine]:
    """The models named by ``findings`` (when no run record is at hand)."""
    seen = dict.fromkeys((f.model, f.model_version) for f in findings)
    return [ModelLine(name, version) for name, version in seen]


def build_content(volume: Volume, header_path: Path | None, analysis: AnalysisResult | None = None,
                  db: FeedbackDB | None = None, key_slices: Sequence[int] = (),
                  measurements: Sequence[Measurement] = ()) -> ReportContent:
    """A report's content: ``analysis`` gives findings, maps and models; without it the findings
    stored for the series in ``db`` (the latest run of each model) are shown, without maps. The
    verdicts, earlier verdicts and reader-added findings come from ``db``."""
    content = ReportContent(volume, identification_from_header(header_path), key_slices=list(key_slices),
                            measurements=list(measurements))
    uid = volume.series_instance_uid
    stored = db.latest_findings(uid) if db is not None and uid else []
    if analysis is not None:
        content.findings, content.explanation = analysis.findings, analysis.explanation
        content.models = [ModelLine(r.name, r.version, r.device, r.seconds) for r in analysis.runs]
        content.analysis_status = analysis.status_text()
    else:
        content.findings = [Finding.from_dict(s.finding) for s in stored]
        content.models = models_of(content.findings)
    if db is not None:
        content.verdicts = verdicts_of(db.feedback_for(f.id) for f in content.findings)
        content.stored = stored if analysis is not None else []
        content.missed = db.missed_findings(uid) if uid else []
    return content
