#!/usr/bin/env bash
# Session 7's ninth device call: bench/m2-ssd-bench.ts with the passes repeated once per layer (tiled16 against
# the fused pair at 130m and 2.7b, to check its 2.7b figures now agree with the engine's), and the engine with
# the opt-in subgroup-matrix GEMMs (--subgroup-matrix) at 2.8b and mamba2-2.7b, prefill 2048 f16, two rounds.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-out}
R=$OUT/run9
mkdir -p "$R"
timeout 150 node dist-bench/m2-ssd-bench.mjs --shapes 130m,2.7b --variants tiled16,fused --runs 10 > "$R/m2-ssd-bench.txt" 2>&1
echo "m2-ssd-bench rc $?"
grep -vE '^\{' "$R/m2-ssd-bench.txt" | tail -12
: > "$R/engine.jsonl"
for round in 1 2; do
  for size in 2.8b mamba2-2.7b; do
    timeout 60 node dist-bench/soup.mjs bench --model "random:$size" --dtype f16 --prefill 2048 --decode-tokens 16 \
      --eval-tokens 32 --subgroup-matrix --json 2>> "$R/engine.err" \
      | sed "s/^{/{\"run\":\"$size sgmm\",\"round\":$round,/" >> "$R/engine.jsonl"
  done
done
python3 bench/engine_summary.py "$R/engine.jsonl" | tee "$R/summary.txt"
tar -cJf "$OUT/run9.tar.xz" -C "$OUT" run9
