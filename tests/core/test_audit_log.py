"""The audit log on real files: entries survive a reopen, UIDs are hashed, lines stay whole."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from viewer.core.audit_log import LOG_FILE, SALT_FILE, AuditLog, AuditLogError, default_audit_log

STUDY = "1.3.6.1.4.1.14519.5.2.1.6279.6001.100000000000000000000000000001"
SERIES = "1.3.6.1.4.1.14519.5.2.1.6279.6001.100000000000000000000000000002"


def test_entries_are_appended_hashed_and_survive_a_reopen(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl")
    log.record("receive", uids=[STUDY, SERIES], detail={"instances": 275, "failed": 0},
               actor="STORESCU@127.0.0.1")
    log.record("send", uids=[STUDY], detail={"instances": 3, "peer": "ORTHANC"})
    text = (tmp_path / "audit.jsonl").read_text()
    assert STUDY not in text and SERIES not in text and "6279" not in text
    again = AuditLog(tmp_path / "audit.jsonl")
    first, second = again.entries()
    assert (first.action, first.actor, dict(first.detail)) == (
        "receive", "STORESCU@127.0.0.1", {"instances": 275, "failed": 0})
    assert first.uid_hashes == (again.hash_uid(STUDY), again.hash_uid(SERIES))
    assert second.uid_hashes == (first.uid_hashes[0],) and second.actor == ""
    assert first.user and first.at.tzinfo is not None and first.at <= second.at
    assert len(text.splitlines()) == 2


def test_another_install_hashes_the_same_uid_differently(tmp_path: Path) -> None:
    a, b = AuditLog(tmp_path / "a" / "audit.jsonl"), AuditLog(tmp_path / "b" / "audit.jsonl")
    assert a.hash_uid(STUDY) != b.hash_uid(STUDY)
    assert (tmp_path / "a" / SALT_FILE).is_file()


def test_bad_entries_are_refused_and_nothing_is_written(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl")
    with pytest.raises(AuditLogError, match="empty"):
        log.record(" ")
    with pytest.raises(AuditLogError, match="string or a number"):
        log.record("import", detail={"names": ["DOE^JOHN"]})  # type: ignore[dict-item]
    assert log.entries() == []


def test_a_torn_last_line_is_skipped(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl")
    log.record("import", uids=[STUDY], detail={"instances": 1})
    with (tmp_path / "audit.jsonl").open("a") as handle:
        handle.write('{"at": "2026-11-29T1')  # what a crash mid-write could leave
    assert [e.action for e in log.entries()] == ["import"]


def test_radsight_home_moves_the_default_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RADSIGHT_HOME", str(tmp_path / "home"))
    default_audit_log().record("delete", uids=[STUDY])
    assert (tmp_path / "home" / LOG_FILE).is_file()


def test_writers_in_several_processes_leave_whole_lines(tmp_path: Path) -> None:
    script = ("import sys; from pathlib import Path; from viewer.core.audit_log import AuditLog\n"
              "log = AuditLog(Path(sys.argv[1]))\n"
              "for n in range(50): log.record('receive', uids=[sys.argv[2]], detail={'n': n})\n")
    path = tmp_path / "audit.jsonl"
    procs = [subprocess.Popen([sys.executable, "-c", script, str(path), f"1.2.3.{p}"]) for p in range(3)]
    assert [p.wait(timeout=60) for p in procs] == [0, 0, 0]
    entries = AuditLog(path).entries()
    assert len(entries) == 150 and len(path.read_text().splitlines()) == 150
    assert len({e.uid_hashes for e in entries}) == 3
