#!/usr/bin/env bash
# Session 6's sixth device call: the prefill norms at 256 invocations per token (NORM_WG_GPU; 64 before), the
# engine at the four sizes, f16, beside the same bundle's figures of run 3 (64), and the GPU test files that
# run the hardware plan's norms (engine.fixtures, engine.mamba2, engine.prefill-tiles). OUT=$OUT bash bench/session6_run6.sh
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-out}
mkdir -p "$OUT"
for size in 130m mamba2-130m 2.8b mamba2-2.7b; do
  timeout 40 node dist-bench/soup.mjs bench --model "random:$size" --dtype f16 --prefill 2048 --json 2>/dev/null \
    | sed "s/^{/{\"run\":\"$size\",/" >> "$OUT/engine.jsonl"
done
SOUP_CLI=dist-bench/soup.mjs timeout 90 node dist-bench/gpu-tests.mjs engine.fixtures engine.mamba2 prefill-tiles \
  > "$OUT/gpu-tests.txt" 2>&1
echo "gpu tests rc $?: $(grep -m1 'gpu tests:' "$OUT/gpu-tests.txt")"
grep '^FAIL' "$OUT/gpu-tests.txt" | head
