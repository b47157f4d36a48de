#!/usr/bin/env bash
# Session 7's fourth device call, on the fused SSD's defaults (0f0309f): 1. the engine alone, f16, prefill 2048
# and decode 128 at mamba2-130m, 130m, mamba2-2.7b and 2.8b, three interleaved rounds (medians of 3); 2. the side
# by side with transformers in the same run (bench/side_by_side.sh, the four sizes, f16). Results in
# $OUT/run4.tar.xz. Prepare: node scripts/bundle-node.mjs; pack dist-bench/soup.mjs into dist-bench/all.tar.xz.
# There: OUT=$OUT bash bench/session7_run4.sh
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-out}
BUDGET_S=${BUDGET_S:-575}
R=$OUT/run4
mkdir -p "$R"
LOG="$R/log.txt"
source bench/device-lib.sh
device_header
export PYTHONUNBUFFERED=1

log "== 1. engine, f16, three rounds (t=${SECONDS}s)"
: > "$R/engine.jsonl"
for round in 1 2 3; do
  for size in mamba2-130m 130m mamba2-2.7b 2.8b; do
    timeout "$(cap 60)" node dist-bench/soup.mjs bench --model "random:$size" --dtype f16 --prefill 2048 --json \
      2>> "$R/engine.err" | sed "s/^{/{\"run\":\"$size\",\"round\":$round,/" >> "$R/engine.jsonl"
  done
  log "   round $round done (t=${SECONDS}s)"
done
python3 bench/engine_summary.py "$R/engine.jsonl" | tee -a "$R/log.txt"

log "== 2. side by side with transformers (t=${SECONDS}s)"
OUT=$R/sbs SIZES=130m,mamba2-130m,2.8b,mamba2-2.7b DTYPES=f16 HF_PREFILL=2048 PREFILL=2048 HF_REPS=1 \
  BUDGET_S=$(cap 330) bash bench/side_by_side.sh >> "$R/log.txt" 2>&1
cp "$R/sbs/table.md" "$R/sbs-table.md" 2>/dev/null
cat "$R/sbs/hf.jsonl" "$R/sbs/ours.jsonl" > "$R/sbs.jsonl" 2>/dev/null
rm -rf "$R/sbs"
log "== done (t=${SECONDS}s)"
tar -cJf "$OUT/run4.tar.xz" -C "$OUT" run4
