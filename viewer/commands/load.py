"""`radsight load PATH [--series KEY]`: load one series and describe the volume obtained."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from viewer.commands.info import print_problems
from viewer.core.orientation import describe_plane
from viewer.core.problems import DicomLoadError
from viewer.core.series_loader import LoadResult, load_series


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("load", help="load a series and describe its volume")
    parser.add_argument("path", type=Path)
    parser.add_argument("--series", help="series key or SeriesInstanceUID (see `radsight info`)")
    parser.add_argument("--acquired", action="store_true",
                        help="keep the acquired grid even when it is irregular or tilted")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if not args.path.exists():
        print(f"radsight load: {args.path} does not exist")
        return 2
    started = time.perf_counter()
    try:
        result = load_series(args.path, series_key=args.series, resample=not args.acquired)
    except DicomLoadError as exc:
        print(f"radsight load: {exc}")
        return 1
    print(describe_result(result, time.perf_counter() - started))
    print_problems(result.problems)
    return 0


def describe_result(result: LoadResult, seconds: float) -> str:
    v = result.volume
    lo, hi = v.value_range
    unit = v.unit
    lines = [
        f"series:      {result.series.key if result.series else '-'}",
        f"modality:    {v.modality}",
        f"shape:       {v.shape[0]} x {v.shape[1]} x {v.shape[2]} (slices x rows x columns)",
        f"spacing:     {v.spacing[0]:.4g} x {v.spacing[1]:.4g} x {v.spacing[2]:.4g} {unit}",
        f"orientation: {describe_plane(v) if v.has_geometry and not v.is_2d else 'projection / 2D image'}",
        f"origin:      ({v.origin[0]:.2f}, {v.origin[1]:.2f}, {v.origin[2]:.2f}) mm (LPS)",
        f"values:      {lo:g} .. {hi:g} ({v.voxels.dtype})",
        f"window:      {v.default_window.center:g} / {v.default_window.width:g}"
        if v.default_window else "window:      -",
        f"grid:        {'resampled onto a regular grid' if v.resampled else 'as acquired'}",
        f"loaded in:   {seconds:.2f} s",
    ]
    if v.display_inverted:
        lines.append("display:     MONOCHROME1 (shown inverted: low values white)")
    lines.extend(f"warning:     {w}" for w in v.warnings)
    return "\n".join(lines)
