# The helpers every device script (bench/session*_run*.sh, bench/session_h200.sh) shares; source it from the
# repository root after setting BUDGET_S (the call's seconds) and LOG (the run's log file):
#   left           seconds of BUDGET_S still to run;
#   cap N          N seconds, or fewer so a step ends MARGIN_S (default 15) seconds before the budget does;
#   log TEXT       TEXT on stdout and appended to $LOG;
#   device_header  starts $LOG with the date, the GPU and driver, and node's version;
#   bench_json FILE TAG ROUND ARGS...
#                  one `soup bench --json ARGS` (dist-bench/soup.mjs, within cap 40), its line tagged with the run TAG
#                  and ROUND (what bench/engine_summary.py groups by) and appended to FILE, stderr to FILE's .err;
#                  an environment prefix (SOUP_DAWN_EXTRA=…) reaches the CLI;
#   gpu_tests_and_fixtures DIR SECONDS
#                  the whole GPU test project (dist-bench/gpu-tests.mjs; TESTS: file-name filters, space-separated,
#                  for a part of it) within SECONDS, then check-mamba2 on the
#                  five Mamba-2 fixtures, their output in DIR and the gist in $LOG.
left() { echo $((BUDGET_S - SECONDS)); }
cap() { local l; l=$(($(left) - ${MARGIN_S:-15})); ((l < $1)) && echo $((l > 0 ? l : 1)) || echo "$1"; }
log() { echo "$*" | tee -a "$LOG"; }
device_header() {
  { date -u; nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null; node --version; } \
    > "$LOG"
}
bench_json() {
  local file=$1 tag=$2 round=$3
  shift 3
  timeout "$(cap 40)" node dist-bench/soup.mjs bench --json "$@" 2>> "${file%.jsonl}.err" \
    | sed "s/^{/{\"run\":\"$tag\",\"round\":$round,/" >> "$file"
}
gpu_tests_and_fixtures() {
  log "== GPU test project (t=${SECONDS}s)"
  # shellcheck disable=SC2086
  SOUP_CLI=dist-bench/soup.mjs timeout "$(cap "$2")" node dist-bench/gpu-tests.mjs ${TESTS:-} > "$1/gpu-tests.txt" 2>&1
  log "   rc $?: $(grep -m1 'gpu tests:' "$1/gpu-tests.txt")"
  grep '^FAIL' "$1/gpu-tests.txt" | head -30 | tee -a "$LOG"
  log "== check-mamba2 (t=${SECONDS}s)"
  timeout "$(cap 45)" node dist-bench/check-mamba2.mjs tests/fixtures/m2-tiny-{a,b,c,d,e} > "$1/check-mamba2.txt" 2>&1
  log "   rc $?: $(tail -n 1 "$1/check-mamba2.txt")"
}
