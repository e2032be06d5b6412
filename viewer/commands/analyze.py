"""`radsight analyze PATH [--model NAME] --out DIR`: run every applicable model on each series.

Each series under PATH (file, folder, DICOMDIR, PNG/JPEG) is loaded; every installed model (or
only ``--model``) whose declared scope admits it runs through its pipeline. Written to DIR:
``findings.json`` (findings with model, score, operating point, location in voxels and mm, plus
what ran where and which models refused which series and why) and one PNG overlay per finding
(image + explanation heat map + box). Not for diagnostic use.

Exit status: 0 when at least one model ran; 2 for bad input (PATH missing, unknown or tampered
model, nothing loadable); 3 when no model applies to any series - with a one-line reason.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from ai.analysis import run_pipeline
from ai.findings import Finding
from ai.image import ImageInput
from ai.package import DISCLAIMER, ModelPackage
from ai.pipelines import PipelineMissing, PipelineResult
from ai.registry import UNKNOWN_MODALITY, ModelError, ModelRegistry, check_scope
from viewer.core.dicom_index import SeriesRecord, index_path
from viewer.core.problems import DicomLoadError
from viewer.core.raster_image import DECLARABLE_KINDS, declare_modality
from viewer.core.series_loader import load_series
from viewer.core.volume import Volume
from viewer.dicom_out.results import write_series_results

BAD_INPUT, NOTHING_APPLIES = 2, 3


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("analyze", help="run the applicable AI models; write findings + overlays")
    parser.add_argument("path", type=Path, help="DICOM file/folder/DICOMDIR or PNG/JPEG image")
    parser.add_argument("--model", help="only this model (see the models folders)")
    parser.add_argument("--out", required=True, type=Path, help="folder for findings.json and overlays")
    parser.add_argument("--dicom", action="store_true",
                        help="also write the results as DICOM: sr.dcm (TID 1500), seg.dcm where masks "
                        "exist, one parametric map per explanation map")
    parser.add_argument("--modality", choices=sorted(DECLARABLE_KINDS), type=str.upper,
                        help="what a plain image (PNG/JPEG, DICOM OT) shows: DX = radiograph, "
                        "MR = MR slice; without it no model runs on such an image")
    parser.set_defaults(func=run)


class AnalyzeError(Exception):
    """Bad input: the message is the one-line reason."""


@dataclass
class SeriesReport:
    """What happened on one series."""

    number: int
    record: SeriesRecord
    volume: Volume | None = None
    models: list[dict[str, Any]] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    maps: dict[str, np.ndarray] | None = None  # finding id → explanation map, kept for --dicom

    def to_dict(self) -> dict[str, Any]:
        v = self.volume
        return {"number": self.number, "series_instance_uid": self.record.series_instance_uid,
                "key": self.record.key, "modality": self.record.modality,
                "shape": list(v.shape) if v else None, "spacing": list(v.spacing) if v else None,
                "unit": v.unit if v else None, "models": self.models, "refused": self.refused}


def run(args: argparse.Namespace) -> int:
    try:
        packages = _packages(args.model)
        records = _series(args.path)
    except AnalyzeError as exc:
        print(f"radsight analyze: {exc}", file=sys.stderr)
        return BAD_INPUT
    args.out.mkdir(parents=True, exist_ok=True)
    reports = []
    for n, record in enumerate(records, 1):
        report = SeriesReport(n, record, maps={} if args.dicom else None)
        reports.append(_analyze_series(report, packages, args.out, args.modality))
        if args.dicom:
            _write_dicom(report, args.out, "" if len(records) == 1 else f"series{n:02d}_")
    _write_findings(args.out / "findings.json", args.path, reports)
    ran = sum(len(r.models) for r in reports)
    if ran == 0:
        print(f"radsight analyze: no model applies: {_refusals(reports)}", file=sys.stderr)
        return NOTHING_APPLIES
    _print_summary(reports, args.out)
    return 0


# --- inputs -----------------------------------------------------------------------------------
def _packages(name: str | None) -> list[ModelPackage]:
    """Verified packages: the one asked for, else every installed one (tampered ones refused)."""
    registry = ModelRegistry()
    try:
        if name:
            return [registry.load(name)]
        packages = []
        for entry in registry.entries():
            try:
                packages.append(registry.load(entry.name))
            except ModelError as exc:
                print(f"radsight analyze: {exc}", file=sys.stderr)
    except ModelError as exc:
        raise AnalyzeError(str(exc)) from exc
    if not packages:
        folders = ", ".join(str(path) for _, path in registry.folders)
        raise AnalyzeError(f"no usable model installed (searched {folders})")
    return packages


def _series(path: Path) -> list[SeriesRecord]:
    if not path.exists():
        raise AnalyzeError(f"{path} does not exist")
    records = index_path(path).series
    if not records:
        raise AnalyzeError(f"no loadable DICOM series or image under {path}")
    return records


def image_of(volume: Volume, body_part: str | None) -> ImageInput:
    """The AI engine's view of a loaded volume."""
    return ImageInput(voxels=volume.voxels, spacing=volume.spacing, origin=volume.origin,
                      direction=volume.direction, modality=volume.modality, has_geometry=volume.has_geometry,
                      body_part=body_part or None,
                      photometric_interpretation=volume.photometric_interpretation)


# --- one series -------------------------------------------------------------------------------
def _analyze_series(report: SeriesReport, packages: list[ModelPackage],
                    out: Path, declared: str | None = None) -> SeriesReport:
    record = report.record
    try:
        report.volume = load_series(record).volume
        if declared and report.volume.modality == UNKNOWN_MODALITY:
            report.volume = declare_modality(report.volume, declared)
    except DicomLoadError as exc:
        report.refused = {p.name: f"the series could not be loaded: {exc}" for p in packages}
        return report
    image = image_of(report.volume, record.descriptor.body_part_examined)
    for package in packages:
        facts = image.facts()
        reason = check_scope(package, facts.modality, facts.is_2d, facts.spacing, facts.body_part)
        if reason:
            report.refused[package.name] = reason
            continue
        _run_one(report, package, image, out)
    return report


def _run_one(report: SeriesReport, package: ModelPackage, image: ImageInput, out: Path) -> None:
    print(f"series {report.number} ({report.record.modality}): running {package.name} {package.version}",
          file=sys.stderr, flush=True)
    try:
        result = run_pipeline(package, image, check_scope=False)
    except PipelineMissing as exc:
        report.refused[package.name] = str(exc)
        return
    report.models.append({"name": package.name, "version": package.version, "provider": result.provider,
                          "seconds": round(result.seconds, 3), "probabilities": result.probabilities,
                          "notes": result.notes})
    for finding in result.findings:
        overlay = _overlay_name(report.number, finding)
        write_overlay(out / overlay, report.volume, finding, result)
        if report.maps is not None and finding.explanation in result.maps:
            report.maps[finding.id] = result.maps[finding.explanation]
        report.findings.append(replace(finding, explanation=overlay,
                                       series_instance_uid=report.record.series_instance_uid))


def _overlay_name(number: int, finding: Finding) -> str:
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", f"{finding.model}_{finding.label}")
    return f"series{number:02d}_{safe}_{finding.id}.png"


# --- overlays ---------------------------------------------------------------------------------
def _slice_of(finding: Finding, heat: np.ndarray | None, depth: int) -> int:
    if finding.center_kji is not None:
        return int(np.clip(round(finding.center_kji[0]), 0, depth - 1))
    if heat is not None:
        return int(heat.reshape(depth, -1).max(axis=1).argmax())
    return depth // 2


def _grey(volume: Volume, k: int) -> np.ndarray:
    """One slice as 0..255, through the volume's default window (percentiles without one)."""
    plane = volume.voxels[k].astype(np.float32)
    if volume.default_window is not None:
        lo, hi = volume.default_window.lower, volume.default_window.upper
    else:
        lo, hi = (float(v) for v in np.percentile(plane, [1, 99]))
    grey = np.clip((plane - lo) / max(hi - lo, 1e-6), 0, 1)
    return (1.0 - grey if volume.display_inverted else grey) * 255.0


def heat_colours(heat: np.ndarray) -> np.ndarray:
    """[0, 1] → RGB 0..255 on a blue-green-yellow-red scale (H, W, 3)."""
    h = 4.0 * np.clip(heat, 0, 1)[..., None]
    peaks = np.array([3.0, 2.0, 1.0])  # where red, green and blue are strongest
    return np.clip(1.5 - np.abs(h - peaks), 0, 1) * 255.0


def write_overlay(path: Path, volume: Volume, finding: Finding, result: PipelineResult) -> None:
    """Image slice + explanation heat map (alpha grows with heat) + the finding's box and score."""
    heat = result.maps.get(finding.explanation or "")
    k = _slice_of(finding, heat, volume.shape[0])
    rgb = np.repeat(_grey(volume, k)[..., None], 3, axis=2)
    if heat is not None:
        alpha = 0.5 * np.clip(heat[k], 0, 1)[..., None]
        rgb = rgb * (1 - alpha) + heat_colours(heat[k]) * alpha
    image = Image.fromarray(rgb.astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(image)
    colour = (255, 40, 40) if finding.passes_operating_point else (255, 210, 0)
    if finding.box_kji is not None and finding.box_kji[0] <= k < finding.box_kji[3]:
        _, j0, i0, _, j1, i1 = finding.box_kji
        draw.rectangle([i0, j0, max(i0, i1 - 1), max(j0, j1 - 1)], outline=colour, width=2)
    draw.text((4, 4), f"{finding.label} {finding.score:.2f} (slice {k}) - {DISCLAIMER}", fill=colour)
    image.save(path)


# --- outputs ----------------------------------------------------------------------------------
def _write_findings(path: Path, source: Path, reports: list[SeriesReport]) -> None:
    findings = [f.to_dict() for r in reports for f in r.findings]
    document = {"disclaimer": DISCLAIMER, "source": str(source),
                "series": [r.to_dict() for r in reports], "findings": findings}
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


def _write_dicom(report: SeriesReport, out: Path, prefix: str) -> None:
    """``--dicom``: the series' SR, SEG and maps (see `viewer.dicom_out.results`)."""
    files = report.record.files if report.record.raster_path is None else []
    results = write_series_results(out, prefix, files, report.volume, report.findings, report.maps or {})
    for line in [f"wrote {out / name}" for name in results.written] + results.notes:
        print(f"series {report.number}: {line}", file=sys.stderr)
    report.maps = None


def _refusals(reports: list[SeriesReport]) -> str:
    parts = [f"series {r.number}: {reason}" for r in reports for reason in r.refused.values()]
    return "; ".join(parts) or "no series was analysed"


def _print_summary(reports: list[SeriesReport], out: Path) -> None:
    for report in reports:
        for model in report.models:
            print(f"series {report.number}: {model['name']} {model['version']} on {model['provider']} "
                  f"in {model['seconds']:.2f} s")
        for finding in report.findings:
            mark = "passes" if finding.passes_operating_point else "below"
            print(f"  {finding.label}: score {finding.score:.3f} ({mark} the operating point)")
        for name, reason in report.refused.items():
            print(f"  {name} not run: {reason}")
    print(f"wrote {out / 'findings.json'} ({DISCLAIMER})")
