"""`radsight report PATH [--analyze] --out FILE.html`: a reading report as one self-contained HTML.

Patient and study identification (from the DICOM header), the AI models and findings (scores,
operating points, model names and versions), the key images (each marked finding's slice with its
box and own explanation map, plus ``--key-slice N`` slices), the reader's verdicts and comments and
the findings they added (feedback store) and "not for diagnostic use". With ``--analyze`` every
applicable model runs first; without it the findings stored for the series (the viewer's latest
Analyze) are reported, without maps. Images are embedded; the file opens no network connection.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("report", help="write a self-contained HTML reading report")
    parser.add_argument("path", type=Path, help="DICOM folder, file, DICOMDIR or PNG/JPEG")
    parser.add_argument("--out", type=Path, required=True, help="HTML file to write")
    parser.add_argument("--series", help="series key or SeriesInstanceUID (default: the largest)")
    parser.add_argument("--analyze", action="store_true",
                        help="run the applicable AI models first (not for diagnostic use)")
    parser.add_argument("--modality", choices=("DX", "MR"), type=str.upper,
                        help="with --analyze: what a plain image (PNG/JPEG) shows")
    parser.add_argument("--key-slice", type=int, action="append", default=[], metavar="N",
                        help="an axial slice to include as a key image, 1-based (repeatable)")
    parser.add_argument("--db", type=Path, help="feedback database (default: the app's)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from viewer.core.feedback_db import FeedbackDBError
    from viewer.core.problems import DicomLoadError
    from viewer.core.series_loader import load_series

    try:
        result = load_series(args.path, series_key=args.series)
    except (DicomLoadError, FileNotFoundError) as exc:
        print(f"radsight report: {exc}")
        return 1
    depth = result.volume.shape[0]
    bad = [n for n in args.key_slice if not 1 <= n <= depth]
    if bad:
        print(f"radsight report: --key-slice must be between 1 and {depth}, got {bad[0]}")
        return 2
    try:
        html = _html(result, args)
    except FeedbackDBError as exc:
        print(f"radsight report: {exc}")
        return 2
    try:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(html, encoding="utf-8")
    except OSError as exc:
        print(f"radsight report: could not write {args.out}: {exc.strerror or exc}")
        return 1
    print(f"wrote {args.out} ({len(html) // 1024} KiB). Not for diagnostic use.")
    return 0


def _html(result: object, args: argparse.Namespace) -> str:
    from viewer.analysis.report_content import build_content
    from viewer.analysis.report_html import render_report
    from viewer.core.feedback_db import FeedbackDB, default_db_path

    volume = result.volume  # type: ignore[attr-defined]
    analysis = _analyse(result, args) if args.analyze else None
    series = result.series  # type: ignore[attr-defined]
    header = series.frames[0].path if series is not None and series.frames else None
    with FeedbackDB(args.db or default_db_path()) as db:
        content = build_content(volume if analysis is None else analysis[0], header,
                                analysis[1] if analysis else None, db,
                                key_slices=[n - 1 for n in args.key_slice])
    return render_report(content)


def _analyse(result: object, args: argparse.Namespace) -> tuple[object, object]:
    """(the volume analysed, its AnalysisResult); prints the status line."""
    from viewer.analysis import analyse, image_input
    from viewer.core.raster_image import declare_modality

    volume = result.volume  # type: ignore[attr-defined]
    if args.modality and volume.modality == "OT":
        volume = declare_modality(volume, args.modality)
    series = result.series  # type: ignore[attr-defined]
    body_part = (series.descriptor.body_part_examined or None) if series is not None else None
    analysis = analyse(image_input(volume, body_part), series_instance_uid=volume.series_instance_uid,
                       study_instance_uid=volume.study_instance_uid)
    print(analysis.status_text())
    return volume, analysis
