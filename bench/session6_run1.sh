#!/usr/bin/env bash
# The first of this session's two device calls: the merged branches checked on the H200 and the choices they
# left open measured, in one call of at most 10 minutes, most important first:
#   1. correctness: the Mamba-1 and Mamba-2 fixtures on the hardware kernels (Mamba-2's 3-dispatch decode and
#      tiled SSD), continueMany against generate() (check-batch), docs/states.md's Mamba-2 recipe in transformers;
#   2. Mamba-2 against Mamba-1, f16, at 130m and 2.7b/2.8b, decode rows 1 (default) and 4 (decisions m2ScanRows);
#   3. the SSD passes alone (M2_SCAN_CHUNK_GPU, M2_SCAN_SLICE_GPU);
#   4. the decode GEMV bandwidth sweep (the engine's fused GEMV against subgroup-per-row kernels);
#   5. the subgroup-matrix GEMM sweep (SGMM_CHOICE; whether to make it the default);
#   6. batched queries (continueMany at batch 1 against 32);
#   7. the GPU test project with what time is left.
# Prepare here: node scripts/bundle-node.mjs; node scripts/bundle-gpu-tests.mjs; bash bench/bundle-check.sh NAME
# for check-fixtures check-mamba2 check-batch m2-ssd-bench gemv-sweep sgmat-sweep; pack dist-bench/*.mjs into
# dist-bench/all.tar.xz. There: tar -xJf dist-bench/all.tar.xz; source .device-kit/on-device.sh;
# OUT=$OUT bash bench/session6_run1.sh
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-out}
BUDGET_S=${BUDGET_S:-575}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
LOG="$OUT/log.txt"
MARGIN_S=5
source bench/device-lib.sh
device_header

log "== 1. fixtures (t=${SECONDS}s)"
{
  timeout "$(cap 45)" node dist-bench/check-fixtures.mjs tests/fixtures/tiny-a tests/fixtures/tiny-b
  echo "check-fixtures rc $?"
  timeout "$(cap 60)" node dist-bench/check-mamba2.mjs tests/fixtures/m2-tiny-a tests/fixtures/m2-tiny-b \
    tests/fixtures/m2-tiny-c tests/fixtures/m2-tiny-d tests/fixtures/m2-tiny-e
  echo "check-mamba2 rc $?"
  timeout "$(cap 60)" node dist-bench/check-batch.mjs tests/fixtures/tiny-a tests/fixtures/tiny-b
  echo "check-batch rc $?"
  timeout "$(cap 60)" python3 tests/py/hf_continue_mamba2.py tests/fixtures/states/m2-tiny-a-head.state.safetensors \
    tests/fixtures/m2-tiny-a
  echo "hf_continue_mamba2 rc $?"
} > "$OUT/fixtures.txt" 2>&1
grep -E "rc [0-9]+$" "$OUT/fixtures.txt" | tee -a "$OUT/log.txt"
log "   passing lines: $(grep -c '"pass":true' "$OUT/fixtures.txt"), failing: $(grep -c '"pass":false' "$OUT/fixtures.txt")"

log "== 2. engine, f16, prefill 2048 and decode (t=${SECONDS}s)"
: > "$OUT/engine.jsonl"
for run in "130m" "mamba2-130m" "mamba2-130m --decode-rows 4" "2.8b" "mamba2-2.7b" "mamba2-2.7b --decode-rows 4"; do
  read -r size extra <<< "$run"
  log "   $run (t=${SECONDS}s)"
  timeout "$(cap 60)" node dist-bench/soup.mjs bench --model "random:$size" --dtype f16 --prefill 2048 --json \
    ${extra:-} | sed "s/^{/{\"run\":\"$run\",/" >> "$OUT/engine.jsonl" 2>> "$OUT/engine.err"
done

log "== 3. SSD passes alone (t=${SECONDS}s)"
timeout "$(cap 75)" node dist-bench/m2-ssd-bench.mjs > "$OUT/m2-ssd.txt" 2>&1
log "   rc $? ($(grep -c '^PASS' "$OUT/m2-ssd.txt") PASS, $(grep -c '^FAIL' "$OUT/m2-ssd.txt") FAIL)"
tail -1 "$OUT/m2-ssd.txt" | tee -a "$OUT/log.txt"

log "== 4. decode GEMV sweep (t=${SECONDS}s)"
timeout "$(cap 75)" node dist-bench/gemv-sweep.mjs > "$OUT/gemv-sweep.txt" 2>&1
log "   rc $?"

log "== 5. subgroup-matrix GEMM sweep (t=${SECONDS}s)"
timeout "$(cap 170)" node dist-bench/sgmat-sweep.mjs --budget 90 --no-engine > "$OUT/sgmat-sweep.txt" 2>&1
log "   rc $?"
grep -E '^(BEST|CHOICE)' "$OUT/sgmat-sweep.txt" | tee -a "$OUT/log.txt"

log "== 6. batched queries (t=${SECONDS}s)"
timeout "$(cap 60)" node dist-bench/soup.mjs bench --batch-queries --model random:130m --dtype f16 \
  --queries 64 --batch 32 --shots 8 --new-tokens 8 --repeats 2 > "$OUT/batch.txt" 2>&1
log "   rc $?"

log "== 7. GPU test project (t=${SECONDS}s)"
timeout "$(cap 120)" node dist-bench/gpu-tests.mjs > "$OUT/gpu-tests.txt" 2>&1
log "   rc $?: $(grep -m1 'gpu tests:' "$OUT/gpu-tests.txt")"
log "== done (t=${SECONDS}s)"
