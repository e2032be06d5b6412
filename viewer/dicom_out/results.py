"""Write one analysed series' results as DICOM: ``sr.dcm``, ``seg.dcm`` (masks) and maps.

What cannot be written (no masks, a resampled series, an empty map) is reported as a one-line
note; the SR is always written when the series is DICOM.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ai.findings import Finding
from ai.region_map import ExplanationMap
from viewer.core.volume import Volume
from viewer.dicom_out.capture_export import build_capture
from viewer.dicom_out.map_export import build_map
from viewer.dicom_out.seg_export import MAX_SEGMENTS, build_seg, findings_with_masks
from viewer.dicom_out.source import DicomOutError, SourceSeries, read_source
from viewer.dicom_out.sr_export import build_sr

MAX_FINDINGS = 100  # per SR: a reader cannot use more (a miscalibrated model can mark 1000)
MAX_MAPS = 20  # a CT map of a nodule's box is ~5-10 MB


@dataclass
class DicomResults:
    """Files written (names inside the output folder) and why anything was left out."""

    written: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def write_series_results(out: Path, prefix: str, files: Sequence[Path], volume: Volume | None,
                         findings: Sequence[Finding], maps: Mapping[str, ExplanationMap]) -> DicomResults:
    """`write_dicom_results` for an analysed series given by its files and loaded volume."""
    if volume is None:
        return DicomResults(notes=["no DICOM results: the series was not loaded"])
    try:
        source = read_source(files, volume)
    except DicomOutError as exc:
        return DicomResults(notes=[f"no DICOM results: {exc}"])
    return write_dicom_results(out, findings, maps, source, prefix)


def write_dicom_results(out: Path, findings: Sequence[Finding], maps: Mapping[str, ExplanationMap],
                        source: SourceSeries, prefix: str = "") -> DicomResults:
    """SR of the marked findings (score at or above the operating point, not hidden by a marking
    rule); SEG where they have masks; per such finding's map (``maps`` by finding id) a Parametric
    Map (series with patient geometry) or a Secondary Capture of its overlay (plain radiographs).
    Unmarked findings (candidates, often many) stay in findings.json only."""
    results = DicomResults(notes=list(source.warnings))
    findings = _reported(findings, results.notes)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # highdicom's notes on value lengths/deprecations
        _save(results, out, f"{prefix}sr.dcm", lambda: build_sr(findings, source))
        if findings_with_masks(findings):
            _save(results, out, f"{prefix}seg.dcm", lambda: build_seg(findings, source, notes=results.notes))
            if len(findings_with_masks(findings)) > MAX_SEGMENTS:
                results.notes.append(f"seg.dcm holds the masks of the {MAX_SEGMENTS} best-scoring findings")
        if sum(f.id in maps for f in findings) > MAX_MAPS:
            results.notes.append(f"explanation maps written for the {MAX_MAPS} best-scoring findings")
        for n, finding in enumerate(findings[:MAX_MAPS], 1):
            heat = maps.get(finding.id)
            if heat is not None:
                build = build_map if source.has_3d_geometry else build_capture
                _save(results, out, f"{prefix}map{n:02d}_{_safe(finding.label)}.dcm",
                      lambda f=finding, h=heat, n=n, b=build: b(f, h, source, instance_number=n))
    return results


def _reported(findings: Sequence[Finding], notes: list[str]) -> list[Finding]:
    """The marked findings, best score first, at most ``MAX_FINDINGS``; what is left out is noted."""
    marked = sorted((f for f in findings if f.marked), key=lambda f: -f.score)
    if len(marked) < len(findings):
        notes.append(f"{len(findings) - len(marked)} unmarked finding(s) are in findings.json only")
    if len(marked) > MAX_FINDINGS:
        notes.append(f"{len(marked) - MAX_FINDINGS} marked finding(s) beyond the {MAX_FINDINGS} "
                     "best-scoring are in findings.json only")
    return marked[:MAX_FINDINGS]


def _save(results: DicomResults, out: Path, name: str, build) -> None:
    try:
        build().save_as(out / name, enforce_file_format=True)
    except (DicomOutError, ValueError, RuntimeError) as exc:
        results.notes.append(f"{name} not written: {exc}")
        return
    results.written.append(name)


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text)
