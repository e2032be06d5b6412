"""The audit log: who did what to which studies, and when — append-only, with no PHI in it.

One JSON object per line in ``audit.jsonl`` (in RadSight's data folder, see
:mod:`viewer.core.storage_paths`; ``RADSIGHT_HOME`` moves it)::

    {"at": "2026-11-29T16:50:02+00:00", "action": "receive", "user": "alice",
     "actor": "CT_SCANNER@10.0.0.7", "uids": ["3f1c…", …], "n_uids": 275,
     "detail": {"instances": 275, "failed": 0}}

- **who**: ``user`` is the OS user running RadSight; ``actor`` the remote party where one is
  involved (a DICOM peer as ``AET@host``), else empty.
- **when**: UTC, ISO 8601, seconds.
- **what**: ``action`` (:data:`ACTIONS` lists the ones RadSight writes) and ``detail`` counts.
- **which**: every UID is replaced by an HMAC-SHA256 keyed with a random per-install salt
  (``audit.salt`` beside the log, created once), cut to 16 bytes (32 hex digits). The same
  UID always gives the same hash on one install (so entries about one study can be matched with
  :meth:`AuditLog.hash_uid`), but a hash cannot be turned back into a UID, and two installs
  hash the same UID differently.

Never put names, patient IDs, dates of birth or free text from DICOM headers into ``detail``:
it is for counts, AE titles, model names and outcomes.

Append-only: the file is opened with ``O_APPEND`` and each entry is written by one ``write``
call and flushed to disk, so writers in several processes interleave whole lines and a crash
can at worst leave one torn last line, which :meth:`AuditLog.entries` skips.
"""

from __future__ import annotations

import getpass
import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from viewer.core.storage_paths import data_dir

LOG_FILE = "audit.jsonl"
SALT_FILE = "audit.salt"
ACTIONS = ("import", "receive", "send", "delete", "query", "retrieve", "export", "analysis")
DetailValue = str | int | float


class AuditLogError(Exception):
    """A bad entry (empty action, a detail value that is not a string or number)."""


@dataclass(frozen=True)
class AuditEntry:
    at: datetime
    action: str
    user: str
    actor: str
    uid_hashes: tuple[str, ...]
    detail: Mapping[str, DetailValue] = field(default_factory=dict)


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid-{os.getuid()}" if hasattr(os, "getuid") else "unknown"


def _load_or_make_salt(path: Path) -> bytes:
    """The per-install salt, made once: written whole under a private name, then linked into
    place (a link never replaces an existing file), so processes starting at once agree."""
    if not path.exists():
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(secrets.token_bytes(32).hex() + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass
        finally:
            temporary.unlink()
    text = path.read_text(encoding="ascii").strip()
    if not text:
        raise AuditLogError(f"{path} is empty: remove it to start a new audit salt")
    return bytes.fromhex(text)


def _check_detail(detail: Mapping[str, DetailValue]) -> dict[str, DetailValue]:
    checked: dict[str, DetailValue] = {}
    for key, value in detail.items():
        if not isinstance(value, str | int | float):
            kind = type(value).__name__
            raise AuditLogError(f"audit detail {key!r} must be a string or a number, not {kind}")
        checked[str(key)] = value
    return checked


class AuditLog:
    """Append-only audit log at ``path`` (its salt file beside it)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._salt = _load_or_make_salt(self.path.parent / SALT_FILE)

    def hash_uid(self, uid: str) -> str:
        """The hash this install writes for ``uid``."""
        return hmac.new(self._salt, uid.strip().encode("ascii", "replace"), hashlib.sha256).hexdigest()[:32]

    def record(self, action: str, *, uids: Sequence[str] = (),
               detail: Mapping[str, DetailValue] | None = None, actor: str | None = None) -> None:
        """Append one entry: ``action`` on ``uids`` (hashed here), with counts in ``detail``."""
        if not action or not action.strip():
            raise AuditLogError("audit action must not be empty")
        entry = {"at": datetime.now(UTC).isoformat(timespec="seconds"), "action": action.strip(),
                 "user": _os_user(), "actor": actor or "", "uids": [self.hash_uid(u) for u in uids],
                 "n_uids": len(uids), "detail": _check_detail(detail or {})}
        line = (json.dumps(entry, separators=(",", ":"), ensure_ascii=True) + "\n").encode("ascii")
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)

    def entries(self) -> list[AuditEntry]:
        """Every entry, oldest first (a torn last line left by a crash is skipped)."""
        if not self.path.exists():
            return []
        found = []
        for line in self.path.read_text(encoding="ascii", errors="replace").splitlines():
            try:
                raw = json.loads(line)
                found.append(AuditEntry(datetime.fromisoformat(raw["at"]), raw["action"], raw["user"],
                                        raw["actor"], tuple(raw["uids"]), dict(raw["detail"])))
            except (ValueError, KeyError, TypeError):
                continue
        return found


def default_audit_log() -> AuditLog:
    """The audit log in RadSight's data folder."""
    return AuditLog(data_dir() / LOG_FILE)
