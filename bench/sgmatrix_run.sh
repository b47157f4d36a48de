#!/usr/bin/env bash
# The subgroup-matrix GEMM check on the GPU machine (bench/check-sgmatrix.ts): adapter features and configs,
# syntax probes, every variant against float64 sums and gemm_tiled, with timings. Needs
# dist-bench/check-sgmatrix.mjs (bash bench/bundle-check.sh check-sgmatrix) and .device-kit. Writes $OUT/check-sgmatrix.txt.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-out}
mkdir -p "$OUT"
timeout 480 node dist-bench/check-sgmatrix.mjs "$@" 2>&1 | tee "$OUT/check-sgmatrix.txt"
