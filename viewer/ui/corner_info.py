"""The header text of the views' top corners: who (name, else patient ID; sex; age), which study
(date, description), which series, and how it was acquired (slice thickness, kVp, kernel).

Display only: the patient's name and ID are shown on screen, never logged.
"""

from __future__ import annotations

from viewer.analysis.report_content import identification_from_header
from viewer.core.dicom_index import SeriesRecord
from viewer.core.volume import Volume
from viewer.ui.study_browser import format_date, series_title

_ABSENT = "(not in header)"


def _joined(*parts: str) -> str:
    return " · ".join(p for p in parts if p and p != _ABSENT)


def series_info(series: SeriesRecord | None, volume: Volume) -> dict[str, str]:
    """``patient``, ``study``, ``series`` (top left) and ``acquisition`` (top right) lines."""
    if series is None:
        return {"series": volume.series_description}
    d = series.descriptor
    header = dict(identification_from_header(series.frames[0].path if series.frames else None))
    who = d.patient_name or header.get("Patient ID", "") or d.patient_id
    thickness, kvp = header.get("Slice thickness (mm)", ""), header.get("kVp", "")
    return {"patient": _joined(who, header.get("Sex", ""), header.get("Age", "")),
            "study": " ".join(t for t in (format_date(d.study_date), d.study_description) if t),
            "series": series_title(series),
            "acquisition": _joined(f"{thickness} mm" if thickness else "", f"{kvp} kVp" if kvp else "",
                                   header.get("Kernel", ""))}
