"""`radsight db`: the study database from the command line.

* ``radsight db list [--db DIR] [--name N] [--id ID] [--from YYYYMMDD] [--to YYYYMMDD]
  [--modality M] [--description D]`` prints one line per study: patient ID, StudyInstanceUID,
  modalities and number of instances (tab-separated; ``-`` for an empty value).
* ``radsight db import PATH [--reference] [--db DIR]``: a folder, DICOMDIR or zip file
  (copied into the managed store unless ``--reference``); re-running completes an interrupted one.
* ``radsight db delete STUDY_UID [--db DIR]``: removes the study (and its managed files).

``DIR`` defaults to RadSight's data folder (``RADSIGHT_HOME`` moves it).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("db", help="list, import into and delete from the study database")
    actions = parser.add_subparsers(dest="db_action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="one line per study")
    for flag, name in (("--name", "patient name"), ("--id", "patient ID"), ("--modality", "modality"),
                       ("--description", "study or series description")):
        listing.add_argument(flag, default="", help=f"only studies with this {name} (* wildcards)")
    listing.add_argument("--from", dest="date_from", default="", metavar="YYYYMMDD")
    listing.add_argument("--to", dest="date_to", default="", metavar="YYYYMMDD")
    importing = actions.add_parser("import", help="import a folder, DICOMDIR or zip file")
    importing.add_argument("path", type=Path)
    importing.add_argument("--reference", action="store_true", help="file the originals, do not copy")
    deleting = actions.add_parser("delete", help="delete a study")
    deleting.add_argument("study_uid")
    for sub in (listing, importing, deleting):
        sub.add_argument("--db", type=Path, help="database folder (default: RadSight's data folder)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from viewer.core.dicom_import import DicomImportError
    from viewer.core.storage_db import StorageError
    from viewer.core.study_db import StudyDB, StudyDBError

    try:
        with StudyDB(args.db) as db:
            return {"list": _list, "import": _import, "delete": _delete}[args.db_action](db, args)
    except (StorageError, StudyDBError, DicomImportError, OSError) as exc:
        print(f"radsight db: {exc}", file=sys.stderr)
        return 2


def _list(db: object, args: argparse.Namespace) -> int:
    from viewer.core.study_db import StudyQuery

    query = StudyQuery(args.name, args.id, args.date_from, args.date_to, args.modality, args.description)
    for study in db.studies(query):  # type: ignore[attr-defined]
        print("\t".join((study.patient_id or "-", study.study_instance_uid,
                         "/".join(study.modalities) or "-", str(study.n_instances))))
    return 0


def _import(db: object, args: argparse.Namespace) -> int:
    from viewer.core.audit_log import LOG_FILE, AuditLog
    from viewer.core.dicom_import import import_path

    report = import_path(db, args.path, copy=not args.reference,  # type: ignore[arg-type]
                         audit=AuditLog(db.folder / LOG_FILE))  # type: ignore[attr-defined]
    for name, reason in report.skipped[:20]:
        print(f"skipped {name}: {reason}", file=sys.stderr)
    print(report.summary())
    return 0 if report.filed else 1


def _delete(db: object, args: argparse.Namespace) -> int:
    from viewer.core.audit_log import LOG_FILE, AuditLog
    from viewer.core.study_store import StudyStore

    instances = db.delete_study(args.study_uid)  # type: ignore[attr-defined]
    removed = StudyStore(db.store_dir).remove(i.path for i in instances if i.managed)  # type: ignore[attr-defined]
    AuditLog(db.folder / LOG_FILE).record("delete", uids=[args.study_uid],  # type: ignore[attr-defined]
                                          detail={"instances": len(instances), "files_removed": removed})
    print(f"deleted 1 study: {len(instances)} instances, {removed} managed files removed")
    return 0
