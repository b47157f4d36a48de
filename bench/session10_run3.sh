#!/usr/bin/env bash
# Session 10's last device call, after run 1's timings (bench/runs/2026-12-05-h200-session10): 1. the engine,
# prefill 2048 f16, Mamba-2 at 130m and 2.7b before (6fbd13b), at the session's start (ae5a79b) and now (the
# 16-row SSD kernel and m2_conv back to session 7's arithmetic, in_proj split from d_inner 4,096), Mamba-1
# beside them, 3 rounds (bench/session9_run1.sh's engine part); 2. the whole GPU test project on the final
# kernels; 3. check-mamba2; 4. the side by side with transformers (bench/side_by_side.sh, f16) with the time
# left (about 160 s). Everything is in $OUT/run3.tar.xz. Prepare: bash bench/session9_prepare.sh. There:
#   tar -xJf dist-bench/all.tar.xz -C dist-bench && source .device-kit/on-device.sh && OUT=$OUT bash bench/session10_run3.sh
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-out}
BUDGET_S=${BUDGET_S:-570}
R=$OUT/run3
mkdir -p "$R"
LOG="$R/log.txt"
source bench/device-lib.sh

MODELS="mamba2-130m:before mamba2-130m:start mamba2-130m:after 130m:after mamba2-2.7b:before mamba2-2.7b:start mamba2-2.7b:after 2.8b:after" \
  QUICK=1 PROBE= ROUNDS=3 RUN=run3e BUDGET_S=210 OUT=$OUT bash bench/session9_run1.sh > /dev/null 2>&1
device_header
cat "$OUT/run3e/log.txt" >> "$LOG"
cp "$OUT/run3e/engine.jsonl" "$R/engine.jsonl"
rm -rf "$OUT/run3e" "$OUT/run3e.tar.xz"

gpu_tests_and_fixtures "$R" 270

log "== 4. side by side (t=${SECONDS}s)"
SIZES=130m,mamba2-130m,2.8b,mamba2-2.7b DTYPES=f16 BUDGET_S=$(($(left) - 10)) OUT=$R/sbs bash bench/side_by_side.sh \
  > "$R/sbs.txt" 2>&1
log "   rc $?"
cat "$R/sbs/table.md" >> "$LOG" 2>/dev/null
log "== done (t=${SECONDS}s)"
tar -cJf "$OUT/run3.tar.xz" -C "$OUT" run3
# What comes back is at most 8 files: the archive and the log.
cp "$LOG" "$OUT/log.txt"
rm -rf "$R"
