"""The one SQLite storage layer under RadSight's databases (study index, AI feedback).

Every database is a plain SQLite file opened the same way: write-ahead log (readers never block
the writer, a crash or kill -9 loses at most the transaction in flight), foreign keys on, a
busy timeout so a second process waits instead of failing, and a schema version kept in
``PRAGMA user_version`` that :func:`migrate` checks and creates.
"""

from __future__ import annotations

import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

BUSY_TIMEOUT_S = 30.0


class StorageError(Exception):
    """A database cannot be used (written by a newer RadSight, or not a database)."""


def connect(path: str | os.PathLike[str], *, shared_between_threads: bool = False) -> sqlite3.Connection:
    """Open (creating its folder) a database file with RadSight's settings.

    ``shared_between_threads``: the connection may be used from several threads, one at a time
    (the caller serialises access with a lock).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, check_same_thread=not shared_between_threads)
    conn.row_factory = sqlite3.Row
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise StorageError(f"{path} is not a RadSight database ({exc})") from exc
    return conn


def migrate(conn: sqlite3.Connection, path: Path, version: int, schema: str) -> None:
    """Create the schema in an empty database; refuse one written by a newer RadSight.

    Runs under the database's write lock, so two processes opening a new file at once create
    the schema once.
    """
    try:
        conn.execute("BEGIN IMMEDIATE")
        found = int(conn.execute("PRAGMA user_version").fetchone()[0])
        if found == 0:
            for statement in filter(str.strip, schema.split(";")):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {version}")
        conn.commit()
    except sqlite3.Error as exc:
        conn.close()
        raise StorageError(f"{path} cannot be opened ({exc})") from exc
    if found > version:
        conn.close()
        raise StorageError(f"{path} was written by a newer RadSight (schema {found}; "
                           f"this one reads up to {version})")


def schema_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def iso_utc(at: datetime | None = None) -> str:
    """``at`` (default now) as an ISO 8601 UTC string to the second."""
    at = at or datetime.now(UTC)
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC).isoformat(timespec="seconds")
