#!/usr/bin/env bash
# This session's measurements on the GPU machine in one device call (at most 10 minutes, at most 8 files back):
#   1. every Mamba-1 and Mamba-2 fixture on the hardware kernels (check-fixtures, check-mamba2; Dawn toggles on,
#      so the native-f16 twins run) and the transformers check of docs/states.md's Mamba-2 recipe;
#   2. Mamba-1 against Mamba-2 against transformers, f16, at 130m and 2.8b/2.7b (bench/side_by_side.sh):
#      prefill 2048, decode, and this engine's page path;
#   3. the engine of the session's start (BEFORE bundle) at the same two sizes, and int8 at 2.8b, so the side by
#      side's numbers read as before/after;
#   4. the GPU test project on the hardware kernels (dist-bench/gpu-tests.mjs) with what time is left.
# Prepare here: node scripts/bundle-node.mjs; node scripts/bundle-gpu-tests.mjs; bash bench/bundle-check.sh
# check-fixtures; bash bench/bundle-check.sh check-mamba2; dist-bench/soup-before.mjs = the bundle of the commit
# before; pack them into dist-bench/all.tar.xz (the tree that travels is capped at 64 MiB). There:
#   tar -xJf dist-bench/all.tar.xz; source .device-kit/on-device.sh; OUT=$OUT bash bench/session_h200.sh
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-out}
BUDGET_S=${BUDGET_S:-570}
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
  timeout "$(cap 60)" python3 tests/py/hf_continue_mamba2.py tests/fixtures/states/m2-tiny-a-head.state.safetensors \
    tests/fixtures/m2-tiny-a
  echo "hf_continue_mamba2 rc $?"
} > "$OUT/fixtures.txt" 2>&1
grep -E "rc [0-9]+$" "$OUT/fixtures.txt" | tee -a "$OUT/log.txt"
log "   check-mamba2 passing lines: $(grep -c '"pass":true' "$OUT/fixtures.txt"), failing: $(grep -c '"pass":false' "$OUT/fixtures.txt")"

log "== 2. Mamba-1 / Mamba-2 / transformers (t=${SECONDS}s)"
OUT=$OUT/sbs SIZES=${SBS_SIZES:-130m,mamba2-130m,2.8b,mamba2-2.7b} DTYPES=f16 HF_PREFILL=2048 PREFILL=512,2048 \
  HF_REPS=1 BUDGET_S=$(cap ${SBS_S:-230}) bash bench/side_by_side.sh >> "$OUT/log.txt" 2>&1
cp "$OUT/sbs/table.md" "$OUT/sbs-table.md" 2>/dev/null
cat "$OUT/sbs/hf.jsonl" "$OUT/sbs/ours.jsonl" > "$OUT/sbs.jsonl" 2>/dev/null
tail -n 15 "$OUT"/sbs/*.err >> "$OUT/log.txt" 2>/dev/null
rm -rf "$OUT/sbs"

log "== 3. before (session start) and int8 (t=${SECONDS}s)"
: > "$OUT/before-int8.jsonl"
for run in "soup-before 130m f16" "soup-before 2.8b f16" "soup 2.8b int8" "soup 130m f16 --subgroup-matrix"; do
  read -r bundle size dtype extra <<< "$run"
  log "   $run (t=${SECONDS}s)"
  timeout "$(cap 60)" node "dist-bench/$bundle.mjs" bench --model "random:$size" --dtype "$dtype" --prefill 512,2048 \
    --json ${extra:-} | sed "s/^{/{\"run\":\"$run\",/" >> "$OUT/before-int8.jsonl" 2>> "$OUT/log.txt"
done

log "== 4. GPU test project (t=${SECONDS}s)"
timeout "$(cap 400)" node dist-bench/gpu-tests.mjs > "$OUT/gpu-tests.txt" 2>&1
log "   rc $?: $(grep -m1 'gpu tests:' "$OUT/gpu-tests.txt")"
log "== done (t=${SECONDS}s)"
