"""`radsight validate --model NAME --data DIR --out DIR`: measure a model on a labelled folder.

A thin shell over :mod:`ai.validation.run`, reading each image through the product's reader
(:func:`viewer.analysis.read_image_input`, the one input path of ``analyze`` and the viewer):
writes ``metrics.json`` (values with 95 % bootstrap intervals, per-subgroup breakdown) and ROC/FROC
plots to DIR; exits 2 with a one-line reason on bad input (unknown model, unrecognised layout,
empty folder, model/data mismatch).

Two modes, named in the output and in ``metrics.json``: **crop mode** on labelled crops or images
(e.g. ``lidc-nodule-vois``), and **whole-scan mode** when DIR holds full CT series with LIDC
annotations (``<scan>/series/`` + LIDC XML; :mod:`ai.validation.scan_run`): ``froc_cpm``,
``fp_per_scan`` and ``lesion_sensitivity`` on whole scans.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "validate", help="measure a model on a labelled folder (metrics.json with 95 %% CIs, ROC/FROC plots)")
    parser.add_argument("--model", required=True, help="model package name (see resources/models)")
    parser.add_argument("--data", required=True, type=Path,
                        help="labelled folder laid out like fracatlas, brain-tumor-mri or lidc-nodule-vois "
                             "(crop mode), or a folder of full CT series with LIDC XML (whole-scan mode)")
    parser.add_argument("--out", required=True, type=Path, help="folder for metrics.json and plots")
    parser.add_argument("--limit", type=int, default=None,
                        help="at most N cases, spread evenly over the folder")
    parser.add_argument("--subset-file", type=Path, default=None,
                        help="CSV with an 'id' column (e.g. a model's split.csv): only those cases")
    parser.add_argument("--split", default=None, help="with --subset-file: only rows whose 'split' is this")
    parser.add_argument("--bootstrap", type=int, default=1000, help="bootstrap replicates (default 1000)")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    parser.set_defaults(func=run)


def _progress(done: int, total: int) -> None:
    if done == total or done % 50 == 0:
        print(f"  {done}/{total} cases", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    from ai.validation.run import ValidateRequest, ValidationError, validate
    from viewer.analysis import read_image_input

    if args.limit is not None and args.limit < 1:
        print("radsight validate: --limit must be at least 1", file=sys.stderr)
        return 2
    from ai.validation.scan_run import is_scan_folder

    if is_scan_folder(args.data):
        return _run_scans(args)
    request = ValidateRequest(model=args.model, data=args.data, out=args.out, limit=args.limit,
                              subset_file=args.subset_file, split=args.split, n_boot=args.bootstrap,
                              seed=args.seed)
    try:
        report, written = validate(request, progress=_progress, read_image=read_image_input)
    except ValidationError as exc:
        print(f"radsight validate: {exc}", file=sys.stderr)
        return 2
    print(f"{report.model} {report.version}: crop mode, {report.n} cases (not for diagnostic use)")
    for name, est in report.metrics.items():
        lo, hi = est.ci95
        print(f"  {name:20s} {est.value:8.4f}  95 % CI [{lo:.4f}, {hi:.4f}]")
    print("wrote " + ", ".join(str(p) for p in written))
    return 0


def _read_series(path: Path):
    """A series folder through the product's loader (the path ``radsight analyze`` takes)."""
    from viewer.analysis import image_input
    from viewer.analysis.series import series_under
    from viewer.core.series_loader import load_series

    record = series_under(path)[0]
    return image_input(load_series(record).volume, record.descriptor.body_part_examined)


def _run_scans(args: argparse.Namespace) -> int:
    from ai.validation.run import ValidationError
    from ai.validation.scan_run import validate_scans
    from viewer.analysis.series import InputError
    from viewer.core.problems import DicomLoadError

    try:
        result, written = validate_scans(args.model, args.data, args.out, _read_series, progress=_progress)
    except (ValidationError, InputError, DicomLoadError) as exc:
        print(f"radsight validate: {exc}", file=sys.stderr)
        return 2
    m = result["metrics"]
    print(f"{result['model']} {result['version']}: whole-scan mode, {m['n_scans']} scans, {m['n_nodules']} "
          f"nodules (>= 2 readers) (not for diagnostic use)")
    print(f"  froc_cpm {m['froc_cpm']:.4f}  lesion_sensitivity {m['lesion_sensitivity']:.4f}  "
          f"fp_per_scan {m['fp_per_scan']:.2f}")
    print(f"  threshold {result['threshold']:.4f}; hit: {result['hit_rule']}")
    print("wrote " + ", ".join(str(p) for p in written))
    return 0
