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
from viewer.analysis.overlay import write_map, write_overlay
from viewer.analysis.series import InputError, SeriesAnalysis, analyse_series, series_under
from viewer.core.raster_image import DECLARABLE_KINDS

BAD_INPUT, NOTHING_APPLIES = 2, 3
MARKING = ("a finding passes (passes_operating_point) when its score is at or above its model's "
           "operating-point threshold (chosen on validation); it is marked unless another rule of the model "
           "hid it: then hidden_by names the rule, described under series[].models[].mark_rules")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("analyze", help="run the applicable AI models; write findings + overlays")
    parser.add_argument("path", type=Path, help="DICOM file/folder/DICOMDIR or PNG/JPEG image")
    parser.add_argument("--model", help="only this model (see the models folders)")
    parser.add_argument("--out", required=True, type=Path, help="folder for findings.json and overlays")
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
    findings = [f for a in analyses for f in _with_overlays(a, args.out)]
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


def standing(finding: Finding) -> str:
    """Where a finding stands, in true words (marked; at/above the threshold but hidden by a rule; below)."""
    if finding.threshold is None:
        return "marked, no threshold" if finding.marked else "not marked"
    t = f"threshold {finding.threshold:.3g}"
    if not finding.passes_operating_point:
        return f"below the {t}, not marked"
    if finding.hidden_by:
        return f"at or above the {t}, not marked: rule {finding.hidden_by}"
    return f"marked: at or above the {t}"


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
            print(f"  {finding.label}: score {finding.score:.3f} ({standing(finding)})")
        for name, reason in {**a.result.refused, **a.result.failed}.items():
            print(f"  {name} not run: {reason}")
    print(f"wrote {out / 'findings.json'} ({DISCLAIMER})")
