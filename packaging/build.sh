#!/usr/bin/env bash
# Builds the one-folder bundle dist/radsight/ and runs its self-test (sample study decode,
# every shipped model through onnxruntime, offscreen VTK). The target machine needs Mesa or a
# GPU driver (libGL/libEGL are not bundled).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/python -m pip install -q "pyinstaller==6.22.3"
.venv/bin/pyinstaller --noconfirm --clean --distpath dist --workpath build/pyinstaller \
  packaging/radsight.spec
du -sh dist/radsight
dist/radsight/radsight selftest
