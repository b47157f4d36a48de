#!/usr/bin/env bash
# Session 16's fifth device call: run 4 ran the whole GPU test project with the bundled models' weights moved out
# of the tree (the device's 64 MiB cap), so the files that load them failed for want of them (and cli.test.ts
# caught a stale message, mended in fba111b). This call carries the weights (only docs/screenshots moved out) and
# runs those files again on the hardware kernels: the CLI's, the stories', the bundled models' engine and worker
# service files, int8's and the studies'.
# Prepare: bash bench/session15_prepare.sh. There:
#   tar -xJf dist-bench/all.tar.xz -C dist-bench && source .device-kit/on-device.sh && OUT=$OUT bash bench/session16_run5.sh
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-out}
BUDGET_S=${BUDGET_S:-300}
R=$OUT/s16run5
mkdir -p "$R"
LOG="$OUT/log.txt"
source bench/device-lib.sh
device_header
TESTS="cli. stories.measured default-model engine.int8 studies. worker-service" gpu_tests_and_fixtures "$R" 240
cp "$LOG" "$R/log.txt"
tar -cJf "$OUT/s16run5.tar.xz" -C "$OUT" s16run5
rm -rf "$R"
