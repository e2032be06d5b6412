"""The managed store: RadSight's own copy of imported and received DICOM files.

Layout ``<root>/<StudyInstanceUID>/<SeriesInstanceUID>/<SOPInstanceUID>.dcm`` (a UID that is not
a plain dotted number becomes its SHA-256 prefix, so no header text ever becomes a path). Every
file is written under a temporary name in its final folder and renamed into place, so a file at
a final name is always complete, even after a kill -9; leftovers of interrupted writes end in
``.part`` and :meth:`StudyStore.remove_partial` deletes them.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import threading
from collections.abc import Iterable
from pathlib import Path

_PLAIN_UID = re.compile(r"[0-9][0-9.]{0,63}")
PARTIAL_SUFFIX = ".part"


def _safe_name(uid: str) -> str:
    uid = uid.strip()
    return uid if _PLAIN_UID.fullmatch(uid) else hashlib.sha256(uid.encode()).hexdigest()[:40]


class StudyStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path_for(self, study_uid: str, series_uid: str, sop_uid: str) -> Path:
        return self.root / _safe_name(study_uid) / _safe_name(series_uid) / f"{_safe_name(sop_uid)}.dcm"

    def holds(self, path: Path) -> bool:
        """Whether ``path`` is inside this store."""
        try:
            Path(path).resolve().relative_to(self.root.resolve())
            return True
        except ValueError:
            return False

    def _temporary(self, target: Path) -> Path:
        target.parent.mkdir(parents=True, exist_ok=True)
        return target.parent / f".{target.name}.{os.getpid()}.{threading.get_ident()}{PARTIAL_SUFFIX}"

    def put_bytes(self, target: Path, chunks: Iterable[bytes]) -> int:
        """Write ``chunks`` as ``target`` (atomically); returns the size."""
        temporary, size = self._temporary(target), 0
        with temporary.open("wb") as handle:
            for chunk in chunks:
                handle.write(chunk)
                size += len(chunk)
        os.replace(temporary, target)
        return size

    def put_file(self, source: Path, target: Path) -> int:
        """Copy ``source`` to ``target`` (atomically); returns the size."""
        temporary = self._temporary(target)
        shutil.copyfile(source, temporary)
        os.replace(temporary, target)
        return target.stat().st_size

    def remove(self, paths: Iterable[Path]) -> int:
        """Delete files of this store (others are left alone) and folders left empty."""
        removed = 0
        for path in paths:
            if self.holds(path) and path.is_file():
                path.unlink()
                removed += 1
                for folder in (path.parent, path.parent.parent):
                    if folder != self.root and folder.is_dir() and not any(folder.iterdir()):
                        folder.rmdir()
        return removed

    def remove_partial(self) -> int:
        """Delete what interrupted writes of processes no longer running left; returns how many."""
        if not self.root.is_dir():
            return 0
        leftovers = [p for p in self.root.rglob(f".*{PARTIAL_SUFFIX}") if not _writer_alive(p)]
        for path in leftovers:
            path.unlink(missing_ok=True)
        return len(leftovers)


def _writer_alive(partial: Path) -> bool:
    """Whether the process that is writing ``partial`` (its pid is in the name) still runs."""
    try:
        pid = int(partial.name.rsplit(".", 3)[-3])
        os.kill(pid, 0)
    except (ValueError, IndexError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True
