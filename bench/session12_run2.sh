#!/usr/bin/env bash
# Session 12's second device call: session11_run1.sh with what run 1 showed. Run 1 ran every "sgmm" case on
# gemm_tiled: the device's compile probe left out gemm_sgmm_ds_db_x2's XROWS override, failed, and turned
# subgroup matrices off (fixed: sgmmConstants). Here, 3 rounds each: gemm_tiled on 64 x 64 tiles (the old
# default), on the per-matrix mid tile (the new default: 128 x 64 from K 1536), the x2 subgroup-matrix GEMMs,
# and X rounded to f16 at the large sizes; gemm_tiled's 64 x 128 and 128 x 128 tiles after the change to its
# accumulators; then the GPU test files of the f16 engines with the subgroup
# matrices on by default (the bundle is built with that flipped) and check-mamba2, check-batch.
# Prepare as session11_prepare.sh says, with the default flipped for the bundle only.
set -uo pipefail
cd "$(dirname "$0")/.."
RUNS=""
for c in t64:--no-subgroup-matrix+--mid-tile+64x64 auto:--no-subgroup-matrix sgmm:--subgroup-matrix; do
  for m in 130m mamba2-130m 2.8b mamba2-2.7b; do RUNS+=" $m:$c"; done
done
RUNS+=" 2.8b:xf16:--subgroup-matrix+--sgmm-x+f16 mamba2-2.7b:xf16:--subgroup-matrix+--sgmm-x+f16"
# gemm_tiled's TN = 8 tiles, 8x slower than TM = 8 in run 1, with the accumulators split in two (acc0 / acc1).
RUNS+=" 130m:t64x128:--no-subgroup-matrix+--mid-tile+64x128 2.8b:t64x128:--no-subgroup-matrix+--mid-tile+64x128"
RUNS+=" 2.8b:t128x128:--no-subgroup-matrix+--big-tiles+1"
export RUNS RUN=run2 ROUNDS=3 ENGINE_S=${ENGINE_S:-360} TESTS_S=${TESTS_S:-170} BATCH="" BUDGET_S=${BUDGET_S:-590}
export TESTS=${TESTS-"engine.fixtures engine.f16-path engine.sgmm-emulated engine.mamba2-inproj-split kernels.sgmm-emulated engine.batch.test engine.state default-model.engine engine.m2-ssd-sgmm"}
exec bash bench/session11_run1.sh
