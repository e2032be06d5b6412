#!/usr/bin/env bash
# CI's bundle step (.ci/run calls it after the test suite). Builds the CPU bundle and its release
# tarball (packaging/build.sh), then checks the release as a clinic receives it: verified against
# SHA256SUMS, untarred into a temporary folder away from the source tree and run with `env -i`
# (no PYTHONPATH, no venv, not even a display): `radsight selftest` must pass without opening
# any file of the source tree (strace), and `radsight analyze` on LIDC-0314 must mark its nodule.
# Any failure fails CI. Timings are printed per step. --no-build checks the tarball already in dist/.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
step() { echo "bundle-check: $* ($(( $(date +%s) - started )) s)"; }
started=$(date +%s)

if [ "${1:-}" != "--no-build" ]; then
  bash packaging/build.sh
  step "built"
fi
TARBALL=$(ls dist/radsight-*-linux-x86_64.tar.gz | grep -v -- '-gpu-' | head -n 1)
(cd dist && sha256sum --check --ignore-missing SHA256SUMS)

WORK=$(mktemp -d /tmp/radsight-clinic.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
tar -C "$WORK" -xzf "$TARBALL"
BUNDLE=$(find "$WORK" -mindepth 1 -maxdepth 1 -type d -name 'radsight-*')
echo "bundle-check: $(du -sh "$BUNDLE" | cut -f1) on disk, $(find "$BUNDLE" -type l | wc -l) symlinks kept"
[ -s "$BUNDLE/licenses/THIRD_PARTY_LICENSES.txt" ] || { echo "bundle-check: licences missing" >&2; exit 1; }
mkdir -p "$WORK/home"
clean() { (cd "$WORK" && env -i HOME="$WORK/home" PATH=/usr/bin:/bin LANG=C.UTF-8 "$@"); }
# Fails when what a bundle command wrote to stderr holds a traceback or a refused sub-command
# (e.g. multiprocessing re-running the frozen executable): such output passed unnoticed once.
no_tracebacks() {
  if grep -E "Traceback|invalid choice" "$1" >/dev/null; then
    echo "bundle-check: $2 wrote a traceback or an unexpected command line:" >&2
    grep -E -A3 "Traceback|invalid choice" "$1" | head -n 20 >&2
    exit 1
  fi
}

TRACE=""
command -v strace >/dev/null && TRACE="strace -f -qq -e trace=open,openat,execve -o $WORK/selftest.strace"
# shellcheck disable=SC2086
clean $TRACE "$BUNDLE/radsight" selftest --report "$WORK/selftest.txt" 2> "$WORK/selftest.err" \
  || { cat "$WORK/selftest.err" >&2; exit 1; }
cat "$WORK/selftest.err" >&2
no_tracebacks "$WORK/selftest.err" "selftest"
step "self-test passed from a clean environment"
if [ -n "$TRACE" ] && grep -F "\"$REPO/" "$WORK/selftest.strace" | grep -v ENOENT | head -n 3 | grep -q .; then
  echo "bundle-check: the bundle opened files of the source tree:" >&2
  grep -F "\"$REPO/" "$WORK/selftest.strace" | grep -v ENOENT | head -n 5 >&2
  exit 1
fi

LIDC=${RADSIGHT_SHARED_DATA:-$REPO/../shared/data}/dicom/lidc-idri-0314/series
if [ ! -d "$LIDC" ]; then
  echo "bundle-check: SKIPPED analyze: LIDC-0314 not found at $LIDC"
else
  clean "$BUNDLE/radsight" analyze "$LIDC" --out "$WORK/analysis" 2> "$WORK/analyze.err" \
    || { cat "$WORK/analyze.err" >&2; exit 1; }
  cat "$WORK/analyze.err" >&2
  no_tracebacks "$WORK/analyze.err" "analyze"
  python3 - "$WORK/analysis/findings.json" <<'PY'
import json, sys
findings = json.load(open(sys.argv[1]))["findings"]
z_lo, z_hi = -529.0 - 2, -511.0 + 2  # the readers' nodule on LIDC-0314 (mm), with a margin
hits = [f for f in findings if f["model"] == "nodule-ct" and f["passes_operating_point"]
        and not f.get("hidden_by") and z_lo <= f["center_mm"][2] <= z_hi]
if not hits:
    sys.exit("bundle-check: analyze did not mark the LIDC-0314 nodule")
print(f"bundle-check: LIDC-0314 nodule marked, score {max(h['score'] for h in hits):.3f}")
PY
  step "analyze marked the LIDC-0314 nodule"
fi
step "done"
