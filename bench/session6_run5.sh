#!/usr/bin/env bash
# Session 6's fifth device call: the opt-in subgroup-matrix path on the fixtures' tiny shapes (where a
# 16-byte split-K buffer failed to bind before), and the GPU test files the default-on run failed, on the
# final defaults (subgroup matrices opt-in). There: OUT=$OUT bash bench/session6_run5.sh
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-out}
mkdir -p "$OUT"
for m in tests/fixtures/tiny-a tests/fixtures/tiny-b tests/fixtures/m2-tiny-b tests/fixtures/m2-tiny-c; do
  echo "== soup bench $m f16 --subgroup-matrix"
  timeout 40 node dist-bench/soup.mjs bench --model "$m" --dtype f16 --subgroup-matrix --quick --prefill 64 \
    --json 2>&1 | cut -c1-400
  echo "rc ${PIPESTATUS[0]}"
done > "$OUT/sgmm-tiny.txt" 2>&1
grep -E '^(==|rc)' "$OUT/sgmm-tiny.txt"
SOUP_CLI=dist-bench/soup.mjs timeout 120 node dist-bench/gpu-tests.mjs engine.fixtures engine.mamba2 engine.batch \
  decode-middle > "$OUT/gpu-tests.txt" 2>&1
echo "gpu tests rc $?: $(grep -m1 'gpu tests:' "$OUT/gpu-tests.txt")"
grep '^FAIL' "$OUT/gpu-tests.txt" | head
