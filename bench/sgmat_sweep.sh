#!/usr/bin/env bash
# The subgroup-matrix GEMM sweep on the GPU machine (bench/sgmat-sweep.ts): variants of shaders/gemm_sgmm.wgsl at
# the engine's prefill shapes against gemm_tiled, the int8 W8A8 kernel, and the engine on the chosen variant.
# Needs dist-bench/sgmat-sweep.mjs (bash bench/bundle-check.sh sgmat-sweep) and .device-kit. About 3 minutes on
# the H200. Writes $OUT/sgmat-sweep.txt; `grep -E '^(BEST|CHOICE|PASS engine|FAIL)' $OUT/sgmat-sweep.txt` is the gist.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-out}
mkdir -p "$OUT"
timeout 540 node dist-bench/sgmat-sweep.mjs "$@" 2>&1 | tee "$OUT/sgmat-sweep.txt"
echo "rc=${PIPESTATUS[0]}" | tee -a "$OUT/sgmat-sweep.txt"
