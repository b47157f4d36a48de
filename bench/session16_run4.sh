#!/usr/bin/env bash
# Session 16's fourth device call: the whole GPU test project on the H100's hardware kernels at the session's
# final head (9f55b59: rmsnorm_rows on by default from d_inner 4,096, the norms' shared workgroup sum), then
# check-mamba2 on the five fixtures.
# Prepare: bash bench/session15_prepare.sh. There:
#   tar -xJf dist-bench/all.tar.xz -C dist-bench && source .device-kit/on-device.sh && OUT=$OUT bash bench/session16_run4.sh
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-out}
BUDGET_S=${BUDGET_S:-580}
R=$OUT/s16run4
mkdir -p "$R"
LOG="$OUT/log.txt"
source bench/device-lib.sh
device_header
gpu_tests_and_fixtures "$R" 520
cp "$LOG" "$R/log.txt"
tar -cJf "$OUT/s16run4.tar.xz" -C "$OUT" s16run4
rm -rf "$R"
