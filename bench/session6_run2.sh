#!/usr/bin/env bash
# The second device call of session 6 (after bench/session6_run1.sh's decisions were applied): the GPU test
# project on the hardware kernels, the subgroup-matrix GEMM sweep with its whole output kept, and the engine
# at this commit against the session's start (dist-bench/soup-before.mjs, the bundle of 53a93de), f16, Mamba-1
# and Mamba-2 at 130m and 2.8b/2.7b. Results are packed in $OUT/run2.tar.xz (a call brings back 8 files).
# Prepare as for run 1, plus dist-bench/soup-before.mjs. There: OUT=$OUT bash bench/session6_run2.sh
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-out}
BUDGET_S=${BUDGET_S:-575}
R=$OUT/run2
mkdir -p "$R"
LOG="$R/log.txt"
source bench/device-lib.sh
device_header

log "== 1. engine now and at the session's start, f16 (t=${SECONDS}s)"
: > "$R/engine.jsonl"
for bundle in soup soup-before; do
  for size in 130m mamba2-130m 2.8b mamba2-2.7b; do
    log "   $bundle $size (t=${SECONDS}s)"
    timeout "$(cap 60)" node "dist-bench/$bundle.mjs" bench --model "random:$size" --dtype f16 --prefill 2048 --json \
      | sed "s/^{/{\"run\":\"$bundle $size\",/" >> "$R/engine.jsonl" 2>> "$R/engine.err"
  done
done

log "== 2. GPU test project (t=${SECONDS}s)"
SOUP_CLI=dist-bench/soup.mjs timeout "$(cap 300)" node dist-bench/gpu-tests.mjs > "$R/gpu-tests.txt" 2>&1
log "   rc $?: $(grep -m1 'gpu tests:' "$R/gpu-tests.txt")"
grep '^FAIL' "$R/gpu-tests.txt" | head -20 | tee -a "$R/log.txt"

log "== 3. subgroup-matrix GEMM sweep (t=${SECONDS}s)"
timeout "$(cap 200)" node dist-bench/sgmat-sweep.mjs --budget 80 --no-engine > "$R/sgmat-sweep.txt" 2>&1
log "   rc $?"
grep -E '^(BEST|CHOICE|FAIL|SKIP)' "$R/sgmat-sweep.txt" | head -30 | tee -a "$R/log.txt"
log "== done (t=${SECONDS}s)"
tar -cJf "$OUT/run2.tar.xz" -C "$OUT" run2
