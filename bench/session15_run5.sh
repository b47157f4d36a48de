#!/usr/bin/env bash
# Session 15's fifth device call: the two fused SSD kernels after their shared code moved into
# include/m2_ssd_fused_common.wgsl (no arithmetic changed), timed as in run 2 (bench/m2-ssd-bench.ts at the 130m
# and 2.7b shapes), and the engine's prefill 2048 f16 at the four sizes, 1 round, on the session's final defaults.
# Prepare: bash bench/session15_prepare.sh. There:
#   tar -xJf dist-bench/all.tar.xz -C dist-bench && source .device-kit/on-device.sh && OUT=$OUT bash bench/session15_run5.sh
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-out}
BUDGET_S=${BUDGET_S:-200}
R=$OUT/s15run5
mkdir -p "$R"
LOG="$OUT/log.txt"
source bench/device-lib.sh
device_header
timeout "$(cap 60)" node dist-bench/m2-ssd-bench.mjs --shapes 130m,2.7b --runs 10 --variants fused,fused4r \
  > "$R/ssd.txt" 2>&1
log "   rc $?"
grep -v '^{' "$R/ssd.txt" | tee -a "$LOG"
: > "$R/engine.jsonl"
for m in 130m mamba2-130m 2.8b mamba2-2.7b; do
  bench_json "$R/engine.jsonl" "$m" 1 --model "random:$m" --dtype f16 --prefill 2048 --decode-tokens 32 --eval-tokens 64
done
python3 bench/engine_summary.py "$R/engine.jsonl" | tee -a "$LOG"
cp "$LOG" "$R/log.txt"
tar -cJf "$OUT/s15run5.tar.xz" -C "$OUT" s15run5
rm -rf "$R"
