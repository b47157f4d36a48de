#!/usr/bin/env bash
# The second device call of session 10, right after bench/session9_run1.sh (QUICK=1, the timings): the checks on
# the real GPU. 1. The whole GPU test project through the device bundle (dist-bench/gpu-tests.mjs; the sgmm tests
# on real tensor cores). 2. check-mamba2 (the five Mamba-2 fixtures through the CLI). 3. bench/batch_queries.sh
# (continueMany against generate(), queries/s), with whatever time is left.
# Prepare: bash bench/session9_prepare.sh (it bundles all of these). There:
#   tar -xJf dist-bench/all.tar.xz -C dist-bench && source .device-kit/on-device.sh && OUT=$OUT bash bench/session10_run2.sh
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-out}
BUDGET_S=${BUDGET_S:-580}
R=$OUT/run2
mkdir -p "$R"
LOG="$R/log.txt"
source bench/device-lib.sh
device_header

gpu_tests_and_fixtures "$R" 270

log "== 3. batch queries (t=${SECONDS}s)"
OUT=$R timeout "$(cap 400)" bash bench/batch_queries.sh > /dev/null 2>&1
log "   rc $?"
cat "$R/batch.txt" >> "$LOG"
log "== done (t=${SECONDS}s)"
tar -cJf "$OUT/run2.tar.xz" -C "$OUT" run2
