#!/usr/bin/env bash
# Session 7's last device call: the GPU test project on the hardware kernels at the session's final code.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-out}
R=$OUT/run10
mkdir -p "$R"
SOUP_CLI=dist-bench/soup.mjs timeout 300 node dist-bench/gpu-tests.mjs > "$R/gpu-tests.txt" 2>&1
echo "rc $?: $(grep -m1 'gpu tests:' "$R/gpu-tests.txt")" | tee "$R/log.txt"
grep '^FAIL' "$R/gpu-tests.txt" | head -20 | tee -a "$R/log.txt"
tar -cJf "$OUT/run10.tar.xz" -C "$OUT" run10
