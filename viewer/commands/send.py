"""`radsight send PATH... --to AET@HOST:PORT`: C-STORE files and folders to a DICOM node.

Each file goes in its own transfer syntax; folders are sent recursively (files that are not
DICOM are skipped with a reason). Exit code 0 when everything was stored, 1 when some instances
failed, 2 when nothing could be sent (bad arguments, peer unreachable or refusing).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("send", help="send DICOM files or folders to a DICOM node (C-STORE)")
    parser.add_argument("paths", type=Path, nargs="+", metavar="PATH")
    parser.add_argument("--to", required=True, metavar="AET@HOST:PORT", help="the receiving node")
    parser.add_argument("--aet", default="RADSIGHT", help="our calling AE title (default RADSIGHT)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from viewer.core.audit_log import default_audit_log
    from viewer.core.dicom_peers import PeerError, RemoteNode
    from viewer.core.dicom_scu import NodeError, send_files

    missing = [p for p in args.paths if not p.exists()]
    if missing:
        print(f"radsight send: {missing[0]} does not exist", file=sys.stderr)
        return 2
    try:
        peer = RemoteNode.parse(args.to)
        report = send_files(peer, args.paths, args.aet, audit=default_audit_log())
    except (PeerError, NodeError) as exc:
        print(f"radsight send: {exc}", file=sys.stderr)
        return 2
    for name, reason in report.skipped[:20]:
        print(f"skipped {name}: {reason}", file=sys.stderr)
    print(f"sent {report.completed} instances to {peer}"
          + (f", {report.failed} failed" if report.failed else "")
          + (f", {len(report.skipped)} files skipped" if report.skipped else ""))
    if report.completed == 0 and not report.failed:
        return 2
    return 1 if report.failed else 0
