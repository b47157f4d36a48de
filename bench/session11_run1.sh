#!/usr/bin/env bash
# Session 11's first device call (issues 14 and 15). 1. The engine at the four sizes, prefill 2048 f16, ROUNDS
# rounds: the prefill GEMMs on subgroup matrices with X as hi + lo halves (gemm_sgmm_ds_db_x2, SGMM_CHOICE)
# against X rounded to f16 (--sgmm-x f16) and against gemm_tiled (--no-subgroup-matrix) with each mid-path tile
# (64x64 | 64x128 | 128x64: whether one takes Mamba-2's in_proj, 3,352 and 10,576 rows, off the wave boundary
# its 64 x 64 tiles cross at 512 tokens, bench/RESULTS.md session 7), and a 1024-token chunk. 2. The whole GPU
# test project (TESTS: a part of it), then check-mamba2; built from 38f0edb, where the subgroup-matrix GEMMs were
# on by default, it checks their precision on the real tensor cores (session 6 found X rounded to f16 failed the
# precision tests). 3. check-batch on the fixtures and the batched queries of random
# Mamba-2 130m and 2.7b (session 10's m2_scan_seg_wg, untimed so far) against generate(). Results in
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
# The log lives in $OUT itself, so what ran comes back even if the call is cut short.
LOG="$OUT/log.txt"
source bench/device-lib.sh
device_header

# model:tag:flags ('+' for a space in flags). f16 prefill GEMMs: sgmm = subgroup matrices (now the default, X as
# hi + lo halves), xf16 = the same with X rounded to f16 (session 6's choice), off = gemm_tiled (the default)
# with its mid-path tile.
RUNS=${RUNS:-""}
if [[ -z $RUNS ]]; then
  # The comparisons that decide the default first, each across the four sizes.
  for c in off:--no-subgroup-matrix sgmm:--subgroup-matrix xf16:--subgroup-matrix+--sgmm-x+f16 \
    off-t64x128:--no-subgroup-matrix+--mid-tile+64x128 off-t128x64:--no-subgroup-matrix+--mid-tile+128x64 \
    sgmm-c1024:--subgroup-matrix+--chunk+1024; do
    for m in 130m mamba2-130m 2.8b mamba2-2.7b; do RUNS+=" $m:$c"; done
  done
fi
log "== 1. engine, prefill 2048 f16, ${ROUNDS:-1} round(s) (t=${SECONDS}s)"
: > "$R/engine.jsonl"
for round in $(seq 1 "${ROUNDS:-1}"); do
  for run in $RUNS; do
    IFS=: read -r model tag flags <<< "$run"
    ((SECONDS > ${ENGINE_S:-190})) && { log "   out of time at round $round $run"; break 2; }
    # shellcheck disable=SC2086
    timeout "$(cap 60)" node dist-bench/soup.mjs bench --model "random:$model" --dtype f16 --prefill 2048 \
      --decode-tokens 32 --eval-tokens 64 --json ${flags//+/ } 2>> "$R/engine.err" \
      | sed "s/^{/{\"run\":\"$model $tag\",\"round\":$round,/" >> "$R/engine.jsonl"
  done
  log "   round $round done (t=${SECONDS}s)"
done
python3 bench/engine_summary.py "$R/engine.jsonl" | tee -a "$LOG"

gpu_tests_and_fixtures "$R" "${TESTS_S:-270}"

log "== 3. check-batch, batched queries (t=${SECONDS}s)"
timeout "$(cap 90)" node dist-bench/check-batch.mjs tests/fixtures/tiny-a tests/fixtures/m2-tiny-a tests/fixtures/m2-tiny-b \
  > "$R/check-batch.txt" 2>&1
log "   check-batch rc $?: $(tail -n 1 "$R/check-batch.txt")"
for q in ${BATCH-mamba2-130m:64: mamba2-2.7b:24:--batch-memory+2048}; do
  IFS=: read -r model n flags <<< "$q"
  # shellcheck disable=SC2086
  timeout "$(cap 100)" node dist-bench/soup.mjs bench --batch-queries --model "random:$model" --dtype f16 \
    --queries "$n" --shots 8 --new-tokens 8 --repeats 3 ${flags//+/ } >> "$R/batch.txt" 2>> "$R/batch-stderr.txt"
  log "   batch-queries $model rc $?"
done
cat "$R/batch.txt" >> "$LOG"
log "== done (t=${SECONDS}s)"
cp "$LOG" "$R/log.txt"
tar -cJf "$OUT/$RUN.tar.xz" -C "$OUT" "$RUN"
rm -rf "$R"
