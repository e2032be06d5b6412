#!/usr/bin/env bash
# Soak test: run the whole pytest suite N times in a row (the pytest command of scripts/test.sh,
# without re-running setup) and report every run that did not pass.
#   scripts/soak-tests.sh N [--load]   --load: a CPU-burning process runs beside it (busy CI)
# Prints one `soak_run I rc R seconds S: <pytest summary>` line per run, then `soak_runs N`,
# `soak_failures K` and, per failure, `soak_failure run I: <test> - <first error line>`;
# a crash (rc 139 segfault, 134 abort) or a timeout names the test that was running.
# Logs: test-output/soak/run-I.log. Extra arguments after the options go to pytest.
set -uo pipefail
cd "$(dirname "$0")/.."
runs=${1:?usage: scripts/soak-tests.sh N [--load] [pytest args]}
shift
load=0
if [ "${1:-}" = "--load" ]; then load=1; shift; fi
logs=test-output/soak
mkdir -p "$logs"
export QT_QPA_PLATFORM=${QT_QPA_PLATFORM:-xcb} PYTHONFAULTHANDLER=1 COLUMNS=400
burner=""
if [ "$load" = 1 ]; then
  yes > /dev/null &
  burner=$!
fi
trap '[ -n "$burner" ] && kill "$burner" 2>/dev/null' EXIT

run_pytest() {  # the pytest command of scripts/test.sh, verbose so a crash names its test
  local cmd=(.venv/bin/python -m pytest -p no:cacheprovider -v -rfE "$@")
  if [ -z "${DISPLAY:-}" ] && command -v xvfb-run >/dev/null; then
    xvfb-run -a -s "-screen 0 1280x1024x24" "${cmd[@]}"
  else
    "${cmd[@]}"
  fi
}

# Failures of one run, one line each: "<test> - <first error line>".
failures_of() {
  local log=$1 rc=$2 listed last
  listed=$(grep -E '^(FAILED|ERROR) ' "$log" | sed -E 's/^(FAILED|ERROR) //')
  if [ -n "$listed" ]; then echo "$listed"; fi
  if [ "$rc" != 0 ] && ! grep -qE '^=+ .*(passed|failed|error).* in [0-9.]+s' "$log"; then
    last=$(grep -oE '^[^ ]+.py::[^ ]+' "$log" | tail -1)
    echo "${last:-<before the first test>} - process ended with rc $rc: $(grep -m1 -E \
      'Fatal Python error|Timeout|Aborted|Segmentation fault|Error' "$log" || echo 'no message')"
  elif [ "$rc" != 0 ] && [ -z "$listed" ]; then
    echo "<suite> - pytest ended with rc $rc: $(tail -1 "$log")"
  fi
}

failures=0
report=()
for i in $(seq 1 "$runs"); do
  log=$logs/run-$i.log
  start=$(date +%s)
  run_pytest "$@" > "$log" 2>&1
  rc=$?
  seconds=$(( $(date +%s) - start ))
  summary=$(grep -E '^=+ .* in [0-9.]+s' "$log" | tail -1 | tr -d '=' | sed 's/^ *//;s/ *$//')
  echo "soak_run $i rc $rc seconds $seconds: ${summary:-no pytest summary}"
  if [ "$rc" != 0 ]; then
    failures=$((failures + 1))
    while IFS= read -r line; do
      [ -n "$line" ] && report+=("soak_failure run $i: $line")
    done < <(failures_of "$log" "$rc")
  fi
done
echo "soak_runs $runs"
echo "soak_failures $failures"
for line in "${report[@]}"; do echo "$line"; done
[ "$failures" = 0 ]
