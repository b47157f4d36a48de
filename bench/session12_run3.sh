#!/usr/bin/env bash
# Session 12's third device call: gemm_tiled's accumulators in three forms, each tile shape forced, at 130m and
# 2.8b (f16, gemm_tiled: subgroup matrices off). old: one acc[16] indexed by (4 q + i) * 2 + p (c19bdfe; run 1:
# 64 x 128 8x slower, 128 x 64 the fastest); new: acc0 / acc1 by p (253356a; run 2: 64 x 128 fixed, 128 x 64
# slower than old); x: four arrays c00 c01 c10 c11, no loop bounded by TM / 4 or TN / 4 in the products.
# Prepare: the three CLIs as dist-bench/soup-{old,new,x}.mjs in dist-bench/all.tar.xz. There:
#   tar -xJf dist-bench/all.tar.xz -C dist-bench && source .device-kit/on-device.sh && OUT=$OUT bash bench/session12_run3.sh
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-out}
BUDGET_S=${BUDGET_S:-360}
R=$OUT/run3
mkdir -p "$R"
LOG="$OUT/log.txt"
source bench/device-lib.sh
device_header
: > "$R/engine.jsonl"
for round in 1 2 3; do
  for m in 130m 2.8b; do
    for tile in 64x64 128x64 64x128; do
      for v in old new x; do
        ((SECONDS > BUDGET_S - 25)) && { log "   out of time at round $round"; break 4; }
        timeout "$(cap 40)" node "dist-bench/soup-$v.mjs" bench --model "random:$m" --dtype f16 --prefill 2048 \
          --decode-tokens 8 --eval-tokens 32 --json --no-subgroup-matrix --mid-tile "$tile" 2>> "$R/engine.err" \
          | sed "s/^{/{\"run\":\"$m $v $tile\",\"round\":$round,/" >> "$R/engine.jsonl"
      done
    done
  done
  log "   round $round done (t=${SECONDS}s)"
done
python3 bench/engine_summary.py "$R/engine.jsonl" | tee -a "$LOG"
cp "$LOG" "$R/log.txt"
tar -cJf "$OUT/run3.tar.xz" -C "$OUT" run3
rm -rf "$R"
