"""`radsight feedback export|agreement`: the radiologists' feedback database from the command line.

* ``radsight feedback export --out DIR [--db FILE]`` writes ``feedback.csv`` and
  ``feedback.json`` (format: :func:`viewer.core.feedback_db.export_dataset`) for training code.
* ``radsight feedback agreement [--bin day|week] [--model NAME] [--db FILE]`` prints, per model
  and bin, agree / disagree / unsure and the agreement rate.

The database is ``$RADSIGHT_DATA_DIR/feedback.sqlite3`` (else the platform's user data folder)
unless ``--db`` is given. Only UIDs, coordinates, scores and verdicts are in it (no patient data).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("feedback", help="export AI feedback; agreement per model")
    actions = parser.add_subparsers(dest="feedback_action", metavar="ACTION", required=True)
    export = actions.add_parser("export", help="write feedback.csv + feedback.json (a training dataset)")
    export.add_argument("--out", type=Path, required=True, help="folder to write into")
    export.add_argument("--db", type=Path, help="feedback database (default: the app's)")
    agreement = actions.add_parser("agreement", help="agreement of each model with the radiologists")
    agreement.add_argument("--bin", choices=("day", "week"), default="week")
    agreement.add_argument("--model", help="only this model")
    agreement.add_argument("--db", type=Path, help="feedback database (default: the app's)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from viewer.core.feedback_db import FeedbackDB, FeedbackDBError, default_db_path

    path = args.db or default_db_path()
    if not path.is_file():
        print(f"radsight feedback: no feedback database at {path}", file=sys.stderr)
        return 2
    try:
        with FeedbackDB(path) as db:
            return _export(db, args.out) if args.feedback_action == "export" else _agreement(db, args)
    except FeedbackDBError as exc:
        print(f"radsight feedback: {exc}", file=sys.stderr)
        return 2


def _export(db: object, out: Path) -> int:
    from viewer.core.feedback_db import export_dataset

    done = export_dataset(db, out)  # type: ignore[arg-type]
    print(f"wrote {done.csv_path} and {done.json_path}: {done.n_findings} AI findings, "
          f"{done.n_missed} radiologist-added findings")
    return 0


def _agreement(db: object, args: argparse.Namespace) -> int:
    bins = db.agreement(args.bin, model=args.model)  # type: ignore[attr-defined]
    if not bins:
        print("no verdicts yet")
        return 0
    print(f"{'model':24} {args.bin + ' of':12} {'agree':>6} {'disagree':>9} {'unsure':>7} {'rate':>6}")
    for b in bins:
        rate = "-" if b.rate is None else f"{b.rate:.2f}"
        print(f"{b.model:24} {b.start.isoformat():12} {b.agree:6d} {b.disagree:9d} {b.unsure:7d} {rate:>6}")
    return 0
