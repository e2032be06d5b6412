"""`radsight` command line: collects the subcommands in `viewer.commands`.

Each module in `viewer/commands/` exposes ``register(subparsers)``; it adds its parser and sets
``func`` (taking the parsed args, returning an exit code).
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

import viewer.commands


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="radsight",
        description="RadSight radiology workstation with embedded AI. Not for diagnostic use.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_info in sorted(pkgutil.iter_modules(viewer.commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"viewer.commands.{module_info.name}")
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    if not argv:
        argv = ["view"]
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        parser.print_help()
        return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
