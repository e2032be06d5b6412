"""`radsight info`'s view of RadSight's own SR files: which series they describe, their findings."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pydicom
from pydicom.errors import InvalidDicomError

from ai.findings import Finding
from viewer.core.volume import Volume
from viewer.dicom_out import codes as rc
from viewer.dicom_out.source import DicomOutError
from viewer.dicom_out.sr_reader import SrFindings, is_radsight_sr, sr_findings


def radsight_srs(paths: Iterable[Path]) -> list[tuple[Path, SrFindings]]:
    """The RadSight SRs among ``paths`` (other files are passed over)."""
    found = []
    for path in paths:
        try:
            ds = pydicom.dcmread(path)
        except (InvalidDicomError, OSError, ValueError):
            continue
        if is_radsight_sr(ds):
            try:
                found.append((path, sr_findings(ds)))
            except (DicomOutError, ValueError, AttributeError):
                continue
    return found


def findings_for_volume(paths: Iterable[Path], volume: Volume) -> list[Finding]:
    """The findings of the RadSight SRs among ``paths`` that describe ``volume``'s series, placed
    on its grid (voxel centre and box)."""
    findings: list[Finding] = []
    for path, result in radsight_srs(paths):
        if result.series_instance_uid == volume.series_instance_uid:
            findings += sr_findings(pydicom.dcmread(path), volume).findings
    return findings


def format_srs(srs: list[tuple[Path, SrFindings]]) -> str:
    lines = []
    for path, result in srs:
        lines.append(f"AI results in {path.name} ({rc.DISCLAIMER}): series {result.series_instance_uid}, "
                     f"{len(result.findings)} finding(s)")
        lines += [f"  {_finding_line(f)}" for f in result.findings]
    return "\n".join(lines)


def _finding_line(finding) -> str:
    where = (" at ({:.1f}, {:.1f}, {:.1f}) mm".format(*finding.center_mm)
             if finding.center_mm is not None else "")
    size = (" size {:.1f} x {:.1f} x {:.1f} mm".format(*finding.size_mm)
            if finding.size_mm is not None else "")
    return (f"{finding.label} score {finding.score:.3f} ({finding.model} {finding.model_version})"
            f"{where}{size}")
