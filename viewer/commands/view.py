"""`radsight view [PATH]`: the reading workstation; with no PATH, the bundled sample study."""

from __future__ import annotations

import argparse
from pathlib import Path


def sample_study() -> Path:
    from viewer.ui.app import resources_dir

    return resources_dir() / "sample"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("view", help="open the viewer (default: the bundled sample study)")
    parser.add_argument("path", type=Path, nargs="?",
                        help="DICOM folder, file, DICOMDIR or PNG/JPEG (default: resources/sample)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from viewer.ui.app import run_viewer

    if args.path is None and not sample_study().exists():
        print(f"radsight view: no sample study at {sample_study()}; opening an empty viewer")
    elif args.path is not None and not args.path.exists():
        print(f"radsight view: {args.path} does not exist")
        return 2
    return run_viewer(args.path)
