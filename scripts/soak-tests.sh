#!/usr/bin/env bash
# Soak test: run the whole pytest suite N times in a row (the pytest command of scripts/test.sh,
# without re-running setup) and report every run that did not pass.
#   scripts/soak-tests.sh N [--load]   --load: a CPU-burning process runs beside it (busy CI)
# Prints one `soak_run I rc R seconds S: <pytest summary>` line per run, then `soak_runs N`,
# `soak_failures K` and, per failure, `soak_failure run I: <test> - <first error line>`;
# a crash (rc 139 segfault, 134 abort) or a timeout names the test that was running.
# Stopped early (Ctrl-C, kill), it reports the runs that completed.
# Logs: test-output/soak/<date-time>/run-I.log. Extra arguments after the options go to pytest.
set -uo pipefail
cd "$(dirname "$0")/.."
runs=${1:?usage: scripts/soak-tests.sh N [--load] [pytest args]}
shift
load=0
if [ "${1:-}" = "--load" ]; then load=1; shift; fi
logs=test-output/soak/$(date -u +%Y%m%d-%H%M%S)
mkdir -p "$logs"
export QT_QPA_PLATFORM=${QT_QPA_PLATFORM:-xcb} PYTHONFAULTHANDLER=1 COLUMNS=400
burner=""
if [ "$load" = 1 ]; then
  yes > /dev/null &
  burner=$!
fi
done_runs=0
failures=0
report=()
child=""
finish() {  # also on Ctrl-C / kill: stop the running suite, report the runs that completed
  [ -n "$burner" ] && kill "$burner" 2>/dev/null
  if [ -n "$child" ]; then kill -TERM -- "-$child" 2>/dev/null; fi
  echo "soak_runs $done_runs"
  echo "soak_failures $failures"
  for line in "${report[@]}"; do echo "$line"; done
}
trap 'finish; trap - EXIT; exit $(( failures > 0 ))' EXIT
trap 'exit 130' INT TERM

# The pytest command of scripts/test.sh, verbose so that a crash names the test it was in.
pytest_cmd=(.venv/bin/python -m pytest -p no:cacheprovider -v -rfE "$@")
if [ -z "${DISPLAY:-}" ] && command -v xvfb-run >/dev/null; then
  pytest_cmd=(xvfb-run -a -s "-screen 0 1280x1024x24" "${pytest_cmd[@]}")
fi

# Failures of one run, one line each: "<test> - <first error line>".
failures_of() {
  local log=$1 rc=$2 listed last
  listed=$(grep -aE '^(FAILED|ERROR) ' "$log" | sed -E 's/^(FAILED|ERROR) //')
  if [ -n "$listed" ]; then echo "$listed"; fi
  if [ "$rc" != 0 ] && ! grep -aqE '^=+ .*(passed|failed|error).* in [0-9.]+s' "$log"; then
    last=$(grep -aoE '^[^ ]+.py::[^ ]+' "$log" | tail -1)
    echo "${last:-<before the first test>} - process ended with rc $rc: $(grep -a -m1 -E \
      'Fatal Python error|Timeout|Aborted|Segmentation fault|Error' "$log" || echo 'no message')"
  elif [ "$rc" != 0 ] && [ -z "$listed" ]; then
    echo "<suite> - pytest ended with rc $rc: $(tail -1 "$log")"
  fi
}

for i in $(seq 1 "$runs"); do
  log=$logs/run-$i.log
  start=$(date +%s)
  setsid "${pytest_cmd[@]}" > "$log" 2>&1 &  # its own process group: a kill stops all of it
  child=$!
  wait "$child"  # (in the background so that a kill reaches the trap at once)
  rc=$?
  child=""
  seconds=$(( $(date +%s) - start ))
  summary=$(grep -aE '^=+ .* in [0-9.]+s' "$log" | tail -1 | tr -d '=' | sed 's/^ *//;s/ *$//')
  echo "soak_run $i rc $rc seconds $seconds: ${summary:-no pytest summary}"
  if [ "$rc" != 0 ]; then
    failures=$((failures + 1))
    while IFS= read -r line; do
      [ -n "$line" ] && report+=("soak_failure run $i: $line")
    done < <(failures_of "$log" "$rc")
  fi
  done_runs=$i
done
