#!/usr/bin/env bash
# The third device call of session 6: the subgroup-matrix GEMM sweep, now that it reads the adapter's configs
# (all five phases: structure, geometry, the best on every shape beside gemm_tiled, W8A8, the engine's prefill
# on the chosen variant), and the side by side with transformers (bench/side_by_side.sh) at 130m, mamba2-130m,
# 2.8b and mamba2-2.7b in f16 on this commit's defaults. Results packed in $OUT/run3.tar.xz.
# Prepare: node scripts/bundle-node.mjs; bash bench/bundle-check.sh sgmat-sweep; pack both into
# dist-bench/all.tar.xz. There: OUT=$OUT bash bench/session6_run3.sh
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-out}
BUDGET_S=${BUDGET_S:-575}
R=$OUT/run3
mkdir -p "$R"
export PYTHONUNBUFFERED=1
LOG="$R/log.txt"
source bench/device-lib.sh
device_header

log "== 1. subgroup-matrix GEMM sweep (t=${SECONDS}s)"
timeout "$(cap 270)" node dist-bench/sgmat-sweep.mjs --budget 100 > "$R/sgmat-sweep.txt" 2>&1
log "   rc $?"
grep -E '^(BEST|CHOICE|  ->|  gemm_tiled on|PASS engine|FAIL|SKIP|RESULT)' "$R/sgmat-sweep.txt" | head -40 | tee -a "$R/log.txt"

log "== 2. Mamba-1 / Mamba-2 / transformers (t=${SECONDS}s)"
OUT=$R/sbs SIZES=130m,mamba2-130m,2.8b,mamba2-2.7b DTYPES=f16 HF_PREFILL=2048 PREFILL=512,2048 HF_REPS=1 \
  BUDGET_S=$(cap 280) bash bench/side_by_side.sh >> "$R/log.txt" 2>&1
cp "$R/sbs/table.md" "$R/sbs-table.md" 2>/dev/null
cat "$R/sbs/hf.jsonl" "$R/sbs/ours.jsonl" > "$R/sbs.jsonl" 2>/dev/null
tail -n 12 "$R"/sbs/ours.err >> "$R/log.txt" 2>/dev/null
rm -rf "$R/sbs"
log "== done (t=${SECONDS}s)"
tar -cJf "$OUT/run3.tar.xz" -C "$OUT" run3
