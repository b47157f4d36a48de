#!/usr/bin/env bash
# Session 7's eighth device call: does the register-held prefetch of m2_ssd_fused (the next chunk's C, B, x, Δ and
# C·Bᵀ, 19 values per invocation) cost occupancy at 2.7b, where 320 workgroups share 132 SMs? The engine's own
# timestamps with the committed kernel (dist-bench/soup.mjs) against one built with the loads at the top of each
# chunk instead (dist-bench/soup-np.mjs), mamba2-130m and mamba2-2.7b, prefill 2048 f16, two rounds.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-out}
R=$OUT/run8
mkdir -p "$R"
: > "$R/engine.jsonl"
for round in 1 2; do
  for b in soup soup-np; do
    for size in mamba2-130m mamba2-2.7b; do
      timeout 60 node "dist-bench/$b.mjs" bench --model "random:$size" --dtype f16 --prefill 2048 --decode-tokens 16 \
        --eval-tokens 32 --json 2>> "$R/engine.err" | sed "s/^{/{\"run\":\"$b $size\",\"round\":$round,/" >> "$R/engine.jsonl"
    done
  done
done
python3 bench/engine_summary.py "$R/engine.jsonl" | tee "$R/summary.txt"
tar -cJf "$OUT/run8.tar.xz" -C "$OUT" run8
