#!/usr/bin/env bash
# Session 7's fifth device call: does the prefill chunk length move Mamba-2's in_proj against Mamba-1's? At 512
# tokens 2.7b's in_proj makes 166 × 8 tiles (1,328 workgroups) against 2.8b's 160 × 8 (1,280), and ran 10 %
# slower for 3 % more rows. `soup bench --chunk N` at N = 384, 448, 512, 640 for the four sizes, prefill 2048,
# f16, with the per-kernel timestamps (engine.jsonl). OUT=$OUT bash bench/session7_run5.sh
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-out}
R=$OUT/run5
mkdir -p "$R"
: > "$R/engine.jsonl"
for chunk in 384 448 512 640; do
  for size in mamba2-2.7b 2.8b mamba2-130m 130m; do
    timeout 60 node dist-bench/soup.mjs bench --model "random:$size" --dtype f16 --prefill 2048 --decode-tokens 16 \
      --eval-tokens 32 --chunk "$chunk" --json 2>> "$R/engine.err" \
      | sed "s/^{/{\"run\":\"$size\",\"chunk\":$chunk,/" >> "$R/engine.jsonl"
  done
  echo "chunk $chunk done (t=${SECONDS}s)"
done
python3 bench/engine_summary.py "$R/engine.jsonl" | tee "$R/summary.txt"
tar -cJf "$OUT/run5.tar.xz" -C "$OUT" run5
