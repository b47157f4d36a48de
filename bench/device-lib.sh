# The helpers every device script (bench/session*_run*.sh, bench/session_h200.sh) shares; source it from the
# repository root after setting BUDGET_S (the call's seconds) and LOG (the run's log file):
#   left           seconds of BUDGET_S still to run;
#   cap N          N seconds, or fewer so a step ends MARGIN_S (default 15) seconds before the budget does;
#   log TEXT       TEXT on stdout and appended to $LOG;
#   device_header  starts $LOG with the date, the GPU and driver, and node's version.
left() { echo $((BUDGET_S - SECONDS)); }
cap() { local l; l=$(($(left) - ${MARGIN_S:-15})); ((l < $1)) && echo $((l > 0 ? l : 1)) || echo "$1"; }
log() { echo "$*" | tee -a "$LOG"; }
device_header() {
  { date -u; nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null; node --version; } \
    > "$LOG"
}
