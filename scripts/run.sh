#!/usr/bin/env bash
# Installs everything (scripts/setup.sh) and starts the RadSight viewer on PATH, or on the
# bundled sample study (resources/sample) when no path is given.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/radsight view "$@"
