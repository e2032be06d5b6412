"""Check results and the one-page text report of ``radsight selftest``."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Check:
    """One self-test check: its name, whether it passed, and one line of detail."""

    name: str
    passed: bool
    detail: str
    seconds: float = 0.0


def run_check(name: str, check: Callable[[], str]) -> Check:
    """Run ``check`` (returns its detail line, raises on failure) and time it."""
    started = time.perf_counter()
    try:
        detail = check()
        passed = True
    except Exception as exc:  # noqa: BLE001 - a self-test reports every failure as one line
        detail, passed = f"{type(exc).__name__}: {exc}", False
    return Check(name, passed, detail, time.perf_counter() - started)


def format_report(header: list[str], checks: list[Check], footer: list[str]) -> str:
    """The report: header lines, one line per check, a summary line, footer lines."""
    lines = [*header, ""]
    for check in checks:
        mark = "ok  " if check.passed else "FAIL"
        lines.append(f"{mark}  {check.name}: {check.detail} ({check.seconds:.2f} s)")
    failed = sum(not c.passed for c in checks)
    lines += ["", f"{len(checks) - failed} passed, {failed} failed", *footer]
    return "\n".join(lines) + "\n"
