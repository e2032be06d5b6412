"""`radsight analyze PATH [--model NAME] --out DIR`: run every applicable model on each series.

A thin adapter over :mod:`viewer.analysis`: each series under PATH (file, folder, DICOMDIR,
PNG/JPEG) is loaded and analysed by :func:`viewer.analysis.series.analyse_path`; written to DIR:
``findings.json`` (findings with model, score, operating point, location in voxels and mm, plus
what ran where and which models refused which series and why) and one PNG overlay per finding
(image + that finding's explanation heat map + box). Not for diagnostic use.

Exit status: 0 when at least one model ran; 2 for bad input (PATH missing, unknown or tampered
model, nothing loadable); 3 when no model applies to any series - with a one-line reason.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import replace
from pathlib import Path

from ai.findings import Finding
from ai.package import DISCLAIMER, ModelPackage
from ai.registry import ModelError, ModelRegistry
from viewer.analysis.operating_point import operating_point_words
from viewer.analysis.overlay import write_map, write_overlay
from viewer.analysis.series import InputError, SeriesAnalysis, analyse_series, series_under
from viewer.core.audit_log import default_audit_log
from viewer.core.raster_image import DECLARABLE_KINDS
from viewer.dicom_out.results import write_series_results

BAD_INPUT, NOTHING_APPLIES = 2, 3
MARKING = ("a finding passes (passes_operating_point) when its score is at or above its model's "
           "operating-point threshold (chosen on validation); it is marked unless another rule of the model "
           "hid it: then hidden_by names the rule, described under series[].models[].mark_rules")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("analyze", help="run the applicable AI models; write findings + overlays")
    parser.add_argument("path", type=Path, help="DICOM file/folder/DICOMDIR or PNG/JPEG image")
    parser.add_argument("--model", help="only this model (see the models folders)")
    parser.add_argument("--out", required=True, type=Path, help="folder for findings.json and overlays")
    parser.add_argument("--dicom", action="store_true",
                        help="also write the marked findings as DICOM: sr.dcm (TID 1500), seg.dcm where "
                        "masks exist, each explanation map as a parametric map (CT/MR) or secondary capture")
    parser.add_argument("--modality", choices=sorted(DECLARABLE_KINDS), type=str.upper,
                        help="what a plain image (PNG/JPEG, DICOM OT) shows: DX = radiograph, "
                        "MR = MR slice; without it no model runs on such an image")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    registry = ModelRegistry()
    try:
        packages = _packages(registry, args.model)
        records = series_under(args.path)
    except (InputError, ModelError) as exc:
        print(f"radsight analyze: {exc}", file=sys.stderr)
        return BAD_INPUT
    args.out.mkdir(parents=True, exist_ok=True)
    analyses = []
    for number, record in enumerate(records, 1):
        print(f"series {number} ({record.modality}): analysing", file=sys.stderr, flush=True)
        analyses.append(analyse_series(number, record, packages, registry, args.modality))
        if args.dicom:
            _write_dicom(analyses[-1], args.out, "" if len(records) == 1 else f"series{number:02d}_")
    findings = [f for a in analyses for f in _with_overlays(a, args.out)]
    _audit(analyses, args.dicom)
    _write_findings(args.out / "findings.json", args.path, analyses, findings)
    if not any(a.result.runs for a in analyses):
        print(f"radsight analyze: no model applies: {_refusals(analyses)}", file=sys.stderr)
        return NOTHING_APPLIES
    _print_summary(analyses, findings, args.out)
    return 0


def _packages(registry: ModelRegistry, name: str | None) -> list[ModelPackage] | None:
    """``[the verified package]`` for ``--model``, else None (the registry's applicable ones run)."""
    if name:
        return [registry.load(name)]
    if not registry.entries():
        folders = ", ".join(str(path) for _, path in registry.folders)
        raise ModelError(f"no usable model installed (searched {folders})")
    return None


def _overlay_name(number: int, finding: Finding) -> str:
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", f"{finding.model}_{finding.label}")
    return f"series{number:02d}_{safe}_{finding.id}.png"


def _with_overlays(analysis: SeriesAnalysis, out: Path) -> list[Finding]:
    """Each finding with its own explanation written: ``explanation`` names the PNG (its slice with
    its own map, box and score), ``explanation_map`` the map's numbers (.npz)."""
    written = []
    for finding in analysis.result.findings:
        name = _overlay_name(analysis.number, finding)
        heat = analysis.result.explanation(finding)
        write_overlay(out / name, analysis.volume, finding, heat)
        map_file = write_map(out / Path(name).with_suffix(".npz").name, heat) if heat is not None else None
        written.append(replace(finding, explanation=name, explanation_map=map_file))
    return written


def _write_findings(path: Path, source: Path, analyses: list[SeriesAnalysis],
                    findings: list[Finding]) -> None:
    document = {"disclaimer": DISCLAIMER, "source": str(source), "marking": MARKING,
                "series": [a.to_dict() for a in analyses], "findings": [f.to_dict() for f in findings]}
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


def _audit(analyses: list[SeriesAnalysis], dicom: bool) -> None:
    """One ``analysis`` entry in the audit log: studies (hashed), counts, models - no PHI."""
    results = [a.result for a in analyses]
    studies = sorted({a.record.study_instance_uid for a in analyses} - {""})
    detail = {"series": len(analyses), "models": len({m.name for r in results for m in r.runs}),
              "findings": sum(len(r.findings) for r in results),
              "marked": sum(f.marked for r in results for f in r.findings), "dicom": int(dicom)}
    default_audit_log().record("analysis", uids=studies, detail=detail)


def _write_dicom(analysis: SeriesAnalysis, out: Path, prefix: str) -> None:
    """``--dicom``: the series' SR, SEG and maps (see `viewer.dicom_out.results`)."""
    record, result = analysis.record, analysis.result
    files = record.files if record.raster_path is None else []
    maps = {f.id: heat for f in result.findings if (heat := result.explanation(f)) is not None}
    written = write_series_results(out, prefix, files, analysis.volume, result.findings, maps)
    for line in [f"wrote {out / name}" for name in written.written] + written.notes:
        print(f"series {analysis.number}: {line}", file=sys.stderr)


def _refusals(analyses: list[SeriesAnalysis]) -> str:
    parts = [f"series {a.number}: {reason}" for a in analyses
             for reason in (*a.result.refused.values(), *a.result.failed.values())]
    return "; ".join(parts) or "no series was analysed"


def _print_summary(analyses: list[SeriesAnalysis], findings: list[Finding], out: Path) -> None:
    for a in analyses:
        for model in a.result.runs:
            print(f"series {a.number}: {model.name} {model.version} on {model.provider} "
                  f"in {model.seconds:.2f} s")
        for finding in (f for f in findings if f.series_instance_uid == a.result.series_instance_uid):
            print(f"  {finding.label}: score {finding.score:.3f} ({operating_point_words(finding)})")
        for name, reason in {**a.result.refused, **a.result.failed}.items():
            print(f"  {name} not run: {reason}")
    print(f"wrote {out / 'findings.json'} ({DISCLAIMER})")
