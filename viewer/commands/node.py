"""`radsight node`: RadSight's DICOM node (C-ECHO, C-STORE SCP) in the foreground until SIGTERM.

``radsight node --aet AET --port PORT [--db DIR] [--allow AET@HOST ...] [--bind ADDRESS]``

Every instance received is stored in the managed store and filed in the study database of
``DIR`` (default: RadSight's data folder; ``RADSIGHT_HOME`` moves it). Only the peers given with
``--allow`` may connect (none: every association is refused). Prints one line when it listens
and one when it stops; receive counts go to the audit log beside the database.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("node", help="run the DICOM node (C-STORE SCP) until SIGTERM")
    parser.add_argument("--aet", default="RADSIGHT", help="this node's AE title (default RADSIGHT)")
    parser.add_argument("--port", type=int, default=11112, help="port to listen on (default 11112)")
    parser.add_argument("--db", type=Path, help="database folder (default: RadSight's data folder)")
    parser.add_argument("--allow", action="extend", nargs="+", default=[], metavar="AET@HOST",
                        help="a peer allowed to connect (repeatable)")
    parser.add_argument("--bind", default="0.0.0.0", help="address to listen on (default: all)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from viewer.core.audit_log import LOG_FILE, AuditLog
    from viewer.core.dicom_node import DicomNode, NodeConfig
    from viewer.core.dicom_peers import AllowedPeer, PeerError
    from viewer.core.storage_db import StorageError
    from viewer.core.study_db import StudyDB

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)
    logging.getLogger("pynetdicom").setLevel(logging.WARNING)
    try:
        allowed = [AllowedPeer.parse(text) for text in args.allow]
        config = NodeConfig(args.aet, args.port, args.bind, allowed)
        db = StudyDB(args.db)
    except (PeerError, StorageError, OSError) as exc:
        print(f"radsight node: {exc}", file=sys.stderr)
        return 2
    node = DicomNode(config, db, AuditLog(db.folder / LOG_FILE))
    try:
        node.start()
    except OSError as exc:
        print(f"radsight node: cannot listen on port {args.port}: {exc.strerror or exc}", file=sys.stderr)
        db.close()
        return 2
    if not allowed:
        print("radsight node: no --allow peers: every association will be refused", file=sys.stderr)
    print(f"radsight node: {args.aet} listening on port {node.port}, database {db.folder}", flush=True)
    _wait_for_stop_signal()
    node.stop()
    db.close()
    print(f"radsight node: stopped ({node.stats.received} received, {node.stats.failed} failed, "
          f"{node.stats.refused} refused)", flush=True)
    return 0


def _wait_for_stop_signal() -> None:
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    while not stop.wait(0.5):
        pass
