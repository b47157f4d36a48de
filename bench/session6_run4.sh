#!/usr/bin/env bash
# The fourth device call of session 6, on the final defaults (tiled SSD at Q 16, NORM-aware decode rows,
# subgroup-matrix prefill GEMMs): the GPU test project on the hardware kernels, the engine with and without
# subgroup matrices at 2.8b and mamba2-2.7b and int8 at 2.8b, and the side by side with transformers at 130m,
# mamba2-130m, 2.8b and mamba2-2.7b, f16. Results packed in $OUT/run4.tar.xz.
# Prepare: node scripts/bundle-node.mjs; node scripts/bundle-gpu-tests.mjs; pack both into dist-bench/all.tar.xz.
# There: OUT=$OUT bash bench/session6_run4.sh
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-out}
BUDGET_S=${BUDGET_S:-575}
R=$OUT/run4
mkdir -p "$R"
export PYTHONUNBUFFERED=1
LOG="$R/log.txt"
source bench/device-lib.sh
device_header

log "== 1. GPU test project (t=${SECONDS}s)"
SOUP_CLI=dist-bench/soup.mjs timeout "$(cap 260)" node dist-bench/gpu-tests.mjs > "$R/gpu-tests.txt" 2>&1
log "   rc $?: $(grep -m1 'gpu tests:' "$R/gpu-tests.txt")"
grep '^FAIL' "$R/gpu-tests.txt" | head -20 | tee -a "$R/log.txt"

log "== 2. engine with and without subgroup matrices, int8 (t=${SECONDS}s)"
: > "$R/engine.jsonl"
for run in "2.8b f16" "2.8b f16 --no-subgroup-matrix" "mamba2-2.7b f16" "mamba2-2.7b f16 --no-subgroup-matrix" \
  "2.8b int8"; do
  read -r size dtype extra <<< "$run"
  log "   $run (t=${SECONDS}s)"
  timeout "$(cap 60)" node dist-bench/soup.mjs bench --model "random:$size" --dtype "$dtype" --prefill 2048 --json \
    ${extra:-} | sed "s/^{/{\"run\":\"$run\",/" >> "$R/engine.jsonl" 2>> "$R/engine.err"
done

log "== 3. Mamba-1 / Mamba-2 / transformers (t=${SECONDS}s)"
OUT=$R/sbs SIZES=130m,mamba2-130m,2.8b,mamba2-2.7b DTYPES=f16 HF_PREFILL=2048 PREFILL=512,2048 HF_REPS=1 \
  BUDGET_S=$(cap 250) bash bench/side_by_side.sh >> "$R/log.txt" 2>&1
cp "$R/sbs/table.md" "$R/sbs-table.md" 2>/dev/null
cat "$R/sbs/hf.jsonl" "$R/sbs/ours.jsonl" > "$R/sbs.jsonl" 2>/dev/null
tail -n 12 "$R"/sbs/ours.err >> "$R/log.txt" 2>/dev/null
rm -rf "$R/sbs"
log "== done (t=${SECONDS}s)"
tar -cJf "$OUT/run4.tar.xz" -C "$OUT" run4
