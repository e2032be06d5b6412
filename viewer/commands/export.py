"""`radsight export PATH --anonymise --out DIR [--dates shift|remove]`: anonymised copy of DICOM.

Every DICOM instance under PATH (file, folder, DICOMDIR; images and objects without pixels such
as SRs) is written to DIR as ``NNNNN.dcm`` after
the PS3.15 Basic Application Level Confidentiality Profile (see `viewer.dicom_out.anonymise`):
names, IDs and UIDs replaced (UIDs consistently within one export), dates shifted (or removed with
``--dates remove``), private tags removed. The summary names files that may show burned-in text
(their pixels are not cleaned). Exit status 0 on success, 2 for bad input.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from viewer.core.audit_log import default_audit_log
from viewer.core.dicom_index import index_path
from viewer.dicom_out.anonymise import ExportSummary, export_anonymised

BAD_INPUT = 2


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("export", help="write an anonymised copy of DICOM files")
    parser.add_argument("path", type=Path, help="DICOM file, folder or DICOMDIR")
    parser.add_argument("--out", required=True, type=Path, help="folder for the exported files")
    parser.add_argument("--anonymise", "--anonymize", action="store_true",
                        help="apply the PS3.15 Basic Application Level Confidentiality Profile")
    parser.add_argument("--dates", choices=("shift", "remove"), default="shift",
                        help="shift dates by one random offset per export (default) or remove them")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    problem = _input_problem(args)
    if problem:
        print(f"radsight export: {problem}", file=sys.stderr)
        return BAD_INPUT
    index = index_path(args.path)
    files = sorted({p for s in index.series if s.raster_path is None for p in s.files}
                   | {p.path for p in index.problems if p.message.startswith("no pixel data")})
    if not files:
        print(f"radsight export: no DICOM image under {args.path}", file=sys.stderr)
        return BAD_INPUT
    try:
        summary = export_anonymised(files, args.out, args.dates)
    except OSError as exc:
        print(f"radsight export: cannot write to {args.out}: {exc.strerror or exc}", file=sys.stderr)
        return BAD_INPUT
    default_audit_log().record("export", uids=sorted(summary.study_uids - {""}), detail={
        "instances": len(summary.written), "skipped": len(summary.skipped), "anonymised": 1,
        "dates": summary.dates, "burned_in_flagged": len(summary.burned_in)})
    _print_summary(summary, args.out)
    return 0


def _input_problem(args: argparse.Namespace) -> str | None:
    if not args.anonymise:
        return "only anonymised export exists: add --anonymise"
    if not args.path.exists():
        return f"{args.path} does not exist"
    if args.out.exists() and any(args.out.iterdir()):
        return f"{args.out} is not empty (nothing written)"
    return None


def _print_summary(summary: ExportSummary, out: Path) -> None:
    dates = "dates shifted" if summary.dates == "shift" else "dates removed"
    print(f"wrote {len(summary.written)} anonymised file(s) to {out} ({dates}, private tags removed)")
    for skipped in summary.skipped:
        print(f"  skipped (not DICOM): {skipped}")
    if summary.burned_in:
        shown = ", ".join(summary.burned_in[:10]) + (" ..." if len(summary.burned_in) > 10 else "")
        print(f"  WARNING: {len(summary.burned_in)} file(s) may show burned-in patient data in their "
              f"pixels (BurnedInAnnotation YES or unknown on a radiograph/capture); check before "
              f"sharing: {shown}")
