"""`radsight info PATH`: a table of the studies and series found under PATH."""

from __future__ import annotations

import argparse
from pathlib import Path

from viewer.core.dicom_index import DicomIndex, SeriesRecord, index_path
from viewer.core.problems import FileProblem
from viewer.dicom_out.sr_listing import format_srs, radsight_srs


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("info", help="list the studies and series in a folder or file")
    parser.add_argument("path", type=Path)
    parser.add_argument("--show-patient", action="store_true",
                        help="also print patient names (hidden by default: they are PHI)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if not args.path.exists():
        print(f"radsight info: {args.path} does not exist")
        return 2
    index = index_path(args.path)
    if not index.series:
        print(f"radsight info: no DICOM or image file found in {args.path}")
        print_problems(index.problems)
        return 1
    print(format_index(index, show_patient=args.show_patient))
    srs = radsight_srs(p.path for p in index.problems if p.severity == "ignored")
    if srs:
        print(format_srs(srs))
    print_problems(index.problems)
    return 0


def format_index(index: DicomIndex, show_patient: bool = False) -> str:
    lines = []
    for n, study in enumerate(index.studies, 1):
        d = study.descriptor
        who = f"  patient: {d.patient_name or '(no name)'}" if show_patient else ""
        lines.append(f"Study {n}: {_date(d.study_date)}  {d.study_description or '(no description)'}"
                     f"  [{', '.join(study.modalities)}]  {study.image_count} images{who}")
        lines.append(f"  {'#':>3}  {'modality':8}  {'images':>6}  {'description':30}  {'geometry':38}  key")
        for series in study.series:
            lines.append("  " + _series_row(series))
    return "\n".join(lines)


def _series_row(series: SeriesRecord) -> str:
    number = series.descriptor.series_number
    description = series.descriptor.series_description or "(no description)"
    if series.stack_count > 1:
        description += f" [stack {series.stack_number}/{series.stack_count}]"
    return (f"{number if number is not None else '-':>3}  {series.modality:8}  {series.frame_count:>6}  "
            f"{description[:30]:30}  {series.summary()[:38]:38}  {series.key}")


def _date(dicom_date: str) -> str:
    if len(dicom_date) == 8 and dicom_date.isdigit():
        return f"{dicom_date[:4]}-{dicom_date[4:6]}-{dicom_date[6:]}"
    return dicom_date or "(no date)"


def print_problems(problems: list[FileProblem]) -> None:
    ignored = [p for p in problems if p.severity == "ignored"]
    for problem in problems:
        if problem.severity != "ignored":
            print(f"{problem.severity}: {problem}")
    if ignored:
        print(f"{len(ignored)} file(s) ignored (not images), e.g. {ignored[0]}")
