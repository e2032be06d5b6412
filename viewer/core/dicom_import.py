"""Import folders, DICOMDIR media and zip files into the study database.

``copy=True`` (the default) copies every file into the managed store; ``copy=False`` files the
originals where they are (by reference; not possible for a zip). Files are filed in batches,
each file only once it is complete in its final place, so a kill -9 leaves a consistent database
and running the same import again completes it (instances already filed are filed again, which
changes nothing). Files that are not DICOM, or lack the UIDs that place them, are skipped with a
one-line reason.
"""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import pydicom
from pydicom.datadict import dictionary_VR, tag_for_keyword
from pydicom.errors import InvalidDicomError

from viewer.core.audit_log import AuditLog
from viewer.core.dicom_frames import NotAnImageError, read_dataset
from viewer.core.dicom_header_scan import scan_header
from viewer.core.study_db import StudyDB
from viewer.core.study_records import (
    NUMBER_KEYWORDS,
    TEXT_KEYWORDS,
    UID_KEYWORDS,
    InstanceRecord,
    MissingUIDError,
)
from viewer.core.study_store import StudyStore

MEDIA_STORAGE_DIRECTORY = "1.2.840.10008.1.3.10"
TRANSFER_SYNTAX_TAG = 0x00020010
BATCH = 64
Progress = Callable[[int, int], None]


class DicomImportError(Exception):
    """The import cannot start (no such path, a zip by reference)."""


@dataclass
class ImportReport:
    files: int = 0
    filed: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)
    study_uids: set[str] = field(default_factory=set)

    def summary(self) -> str:
        n = len(self.study_uids)
        return (f"{self.filed} of {self.files} files filed in {n} {'study' if n == 1 else 'studies'}"
                + (f", {len(self.skipped)} skipped" if self.skipped else ""))


@dataclass(frozen=True)
class _Source:
    """One file to import: a path on disk, or a zip member's name and bytes."""

    name: str
    path: Path | None = None
    data: bytes | None = None


def _walk(root: Path) -> list[Path]:
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        found.extend(Path(dirpath, f) for f in sorted(filenames) if not f.startswith("."))
    return found


def _dicomdir_files(dicomdir: Path) -> list[Path]:
    from pydicom.fileset import FileSet

    return sorted({Path(instance.path) for instance in FileSet(dicomdir)})


def _zip_sources(path: Path) -> Iterator[_Source]:
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            if not info.is_dir() and not Path(info.filename).name.startswith("."):
                yield _Source(f"{path.name}:{info.filename}", data=archive.read(info))


def _sources(root: Path, copy: bool) -> tuple[int, Iterator[_Source]]:
    if not root.exists():
        raise DicomImportError(f"{root} does not exist")
    if root.is_file() and zipfile.is_zipfile(root):
        if not copy:
            raise DicomImportError(f"{root} is a zip file: it can only be imported as a copy")
        with zipfile.ZipFile(root) as archive:
            count = sum(not i.is_dir() for i in archive.infolist())
        return count, _zip_sources(root)
    if root.is_file() and root.name.upper() == "DICOMDIR":
        paths = _dicomdir_files(root)
    else:
        paths = [root] if root.is_file() else _walk(root)
    return len(paths), (_Source(str(p), path=p) for p in paths)


_WANTED = {int(tag_for_keyword(k)): dictionary_VR(k)  # type: ignore[arg-type]
           for k in (*UID_KEYWORDS, *TEXT_KEYWORDS, *NUMBER_KEYWORDS)}
_SIMPLE_CHARSETS = {"": "latin-1", "ISO_IR 6": "latin-1", "ISO_IR 100": "latin-1", "ISO_IR 192": "utf-8"}


def _scanned_record(path: Path) -> InstanceRecord | None:
    """The record from the fast header scanner (None when it declines or the charset is not a
    simple one: then pydicom reads the file)."""
    found = scan_header(path, _WANTED)
    if found is None or TRANSFER_SYNTAX_TAG not in found:
        return None

    def raw(keyword: str, encoding: str = "latin-1") -> str:
        value = found.get(int(tag_for_keyword(keyword)), b"")  # type: ignore[arg-type]
        return value.decode(encoding, "replace").strip("\0 ") if isinstance(value, bytes) else ""

    encoding = _SIMPLE_CHARSETS.get(raw("SpecificCharacterSet"))
    if encoding is None:
        return None
    syntax = bytes(found[TRANSFER_SYNTAX_TAG]).decode("ascii", "replace").strip("\0 ")  # type: ignore[arg-type]
    return InstanceRecord.from_values(lambda keyword: raw(keyword, encoding), syntax)


def _read_record(source: _Source) -> InstanceRecord:
    if source.path is not None:
        scanned = _scanned_record(source.path)
        if scanned is not None:
            return scanned
        ds = read_dataset(source.path)
    else:
        try:
            ds = pydicom.dcmread(io.BytesIO(source.data or b""), stop_before_pixels=True)
        except (InvalidDicomError, OSError, EOFError, ValueError, KeyError, TypeError) as exc:
            raise NotAnImageError(f"not a readable DICOM file ({exc.__class__.__name__})") from exc
    return InstanceRecord.from_dataset(ds)


def _record(source: _Source, store: StudyStore, copy: bool) -> InstanceRecord:
    record = _read_record(source)
    if record.sop_class_uid == MEDIA_STORAGE_DIRECTORY:
        raise NotAnImageError("DICOMDIR (its files are imported, not the directory itself)")
    if not copy:
        path = Path(source.path or "").resolve()
        return replace(record, path=str(path), size=path.stat().st_size)
    target = store.path_for(record.study_instance_uid, record.series_instance_uid, record.sop_instance_uid)
    if source.path is not None:
        size = store.put_file(source.path, target)
    else:
        size = store.put_bytes(target, [source.data or b""])
    return replace(record, path=str(target), size=size, managed=True)


def import_path(db: StudyDB, path: str | os.PathLike[str], *, copy: bool = True,
                progress: Progress | None = None, audit: AuditLog | None = None) -> ImportReport:
    """Import a folder tree, a DICOMDIR, a zip file or one file into ``db``."""
    root = Path(path)
    total, sources = _sources(root, copy)
    store, report, batch = StudyStore(db.store_dir), ImportReport(files=total), []
    store.remove_partial()
    for n, source in enumerate(sources, 1):
        try:
            batch.append(_record(source, store, copy))
        except (NotAnImageError, MissingUIDError, OSError) as exc:
            report.skipped.append((source.name, str(exc)))
        if len(batch) >= BATCH:
            _file(db, batch, report)
        if progress:
            progress(n, total)
    _file(db, batch, report)
    if audit is not None:
        audit.record("import", uids=sorted(report.study_uids),
                     detail={"files": report.files, "filed": report.filed, "skipped": len(report.skipped),
                             "mode": "copy" if copy else "reference"})
    return report


def _file(db: StudyDB, batch: list[InstanceRecord], report: ImportReport) -> None:
    report.filed += db.add_instances(batch)
    report.study_uids.update(r.study_instance_uid for r in batch)
    batch.clear()
