#!/usr/bin/env bash
# Session 11's first device call (issues 14 and 15). 1. The prefill GEMM's mid-path tile (`soup bench --mid-tile`
# 64x64 | 64x128 | 128x64) and the chunk length (512 | 1024) at the four sizes, prefill 2048 f16, ROUNDS rounds:
# whether a tile shape or chunk takes Mamba-2's in_proj (3,352 and 10,576 rows) off the wave boundary its 64 x 64
# tiles cross at 512 tokens (bench/RESULTS.md, session 7), and what it costs Mamba-1. 2. check-batch on the
# fixtures and the batched queries of random Mamba-2 130m and 2.7b (session 10's m2_scan_seg_wg, untimed so far)
# against generate(). 3. The whole GPU test project at this commit, then check-mamba2. Results in
# $OUT/run1.tar.xz and $OUT/log.txt.
# Prepare: bash bench/session11_prepare.sh. There:
#   tar -xJf dist-bench/all.tar.xz -C dist-bench && source .device-kit/on-device.sh && OUT=$OUT bash bench/session11_run1.sh
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-out}
BUDGET_S=${BUDGET_S:-580}
RUN=${RUN:-run1}
R=$OUT/$RUN
mkdir -p "$R"
LOG="$R/log.txt"
source bench/device-lib.sh
device_header

# model:tag:flags ('+' for a space in flags).
RUNS=${RUNS:-"130m:t64::  mamba2-130m:t64:: 2.8b:t64:: mamba2-2.7b:t64::
  130m:t64x128:--mid-tile+64x128 mamba2-130m:t64x128:--mid-tile+64x128 2.8b:t64x128:--mid-tile+64x128 mamba2-2.7b:t64x128:--mid-tile+64x128
  130m:t128x64:--mid-tile+128x64 mamba2-130m:t128x64:--mid-tile+128x64 2.8b:t128x64:--mid-tile+128x64 mamba2-2.7b:t128x64:--mid-tile+128x64
  130m:c1024:--chunk+1024 mamba2-130m:c1024:--chunk+1024 2.8b:c1024:--chunk+1024 mamba2-2.7b:c1024:--chunk+1024"}
log "== 1. engine, prefill 2048 f16, ${ROUNDS:-1} round(s) (t=${SECONDS}s)"
: > "$R/engine.jsonl"
for round in $(seq 1 "${ROUNDS:-1}"); do
  for run in $RUNS; do
    IFS=: read -r model tag flags <<< "$run"
    ((SECONDS > ${ENGINE_S:-200})) && { log "   out of time at round $round $run"; break 2; }
    # shellcheck disable=SC2086
    timeout "$(cap 60)" node dist-bench/soup.mjs bench --model "random:$model" --dtype f16 --prefill 2048 \
      --decode-tokens 32 --eval-tokens 64 --json ${flags//+/ } 2>> "$R/engine.err" \
      | sed "s/^{/{\"run\":\"$model $tag\",\"round\":$round,/" >> "$R/engine.jsonl"
  done
  log "   round $round done (t=${SECONDS}s)"
done
python3 bench/engine_summary.py "$R/engine.jsonl" | tee -a "$LOG"

log "== 2. check-batch, batched queries (t=${SECONDS}s)"
timeout "$(cap 90)" node dist-bench/check-batch.mjs tests/fixtures/tiny-a tests/fixtures/m2-tiny-a tests/fixtures/m2-tiny-b \
  > "$R/check-batch.txt" 2>&1
log "   check-batch rc $?: $(tail -n 1 "$R/check-batch.txt")"
for q in mamba2-130m:64: mamba2-2.7b:24:--batch-memory+2048; do
  IFS=: read -r model n flags <<< "$q"
  # shellcheck disable=SC2086
  timeout "$(cap 100)" node dist-bench/soup.mjs bench --batch-queries --model "random:$model" --dtype f16 \
    --queries "$n" --shots 8 --new-tokens 8 --repeats 3 ${flags//+/ } >> "$R/batch.txt" 2>> "$R/batch-stderr.txt"
  log "   batch-queries $model rc $?"
done
cat "$R/batch.txt" >> "$LOG"

gpu_tests_and_fixtures "$R" 300
log "== done (t=${SECONDS}s)"
tar -cJf "$OUT/$RUN.tar.xz" -C "$OUT" "$RUN"
cp "$LOG" "$OUT/log.txt"
rm -rf "$R"
