"""`radsight selftest`: proves that an installation (source tree or bundle) works end to end.

Every shipped model runs through the analysis service on a real bundled input and must give the
expected result (the sample CT's nodule marked; fixed scores within tolerance); every supported
transfer syntax decodes to the reference pixels; VTK renders a frame off-screen whose pixels are
checked. The one-page report names the execution provider actually used and, when CUDA was not
used, why. Exit 1 when any check fails. Touches no network and no patient data.
Expected results: resources/selftest/expectations.json (packaging/make_selftest_expectations.py).
"""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("selftest", help="check that this installation works end to end")
    parser.add_argument("--no-render", action="store_true", help="skip the VTK rendering check")
    parser.add_argument("--report", type=Path, help="also write the report to this file")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from viewer.selftest.decode_checks import decode_checks
    from viewer.selftest.environment import header, provider_lines
    from viewer.selftest.expectations import load_expectations
    from viewer.selftest.model_checks import model_checks
    from viewer.selftest.render_check import render_check
    from viewer.selftest.report import format_report, run_check

    try:
        expected = load_expectations()
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"radsight selftest: the expected results cannot be read: {exc}")
        return 1
    providers: set[str] = set()
    checks = model_checks(expected, providers)
    checks += decode_checks(expected.decode)
    if not args.no_render:
        checks.append(run_check("VTK renders off-screen", render_check))
    report = format_report(header(), checks, provider_lines(providers))
    print(report, end="")
    if args.report:
        args.report.write_text(report, encoding="utf-8")
    return 0 if all(check.passed for check in checks) else 1
