#!/usr/bin/env bash
# Installs everything (scripts/setup.sh) and runs the whole test suite headless:
# ruff, the import contracts (lint-imports) and pytest under a virtual X server.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export QT_QPA_PLATFORM=${QT_QPA_PLATFORM:-xcb}
.venv/bin/ruff check viewer ai tests bench scripts packaging
.venv/bin/lint-imports --config pyproject.toml
if [ -z "${DISPLAY:-}" ] && command -v xvfb-run >/dev/null; then
  exec xvfb-run -a -s "-screen 0 1280x1024x24" .venv/bin/python -m pytest -p no:cacheprovider "$@"
fi
exec .venv/bin/python -m pytest -p no:cacheprovider "$@"
