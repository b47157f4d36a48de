#!/usr/bin/env bash
# Session 16's second device call (issue 15): rmsnorm_rows rewritten after run 1 (256 invocations a token, LPR
# invocations sharing each row's dot product, where the first version walked every row over its own octs at
# 64 and took 94 µs a layer at mamba2-2.7b). Its tests on the hardware kernels, then 2 interleaved rounds of
# prefill 2048 f16: Mamba-1 and Mamba-2 at both sizes on the defaults (the gated norm's fold now opt-in), with
# the thin GEMM instead (--m2-norm-rows off) at 2.7b and the rows forced on at 130m (split at 3,328).
# Prepare: bash bench/session15_prepare.sh. There:
#   tar -xJf dist-bench/all.tar.xz -C dist-bench && source .device-kit/on-device.sh && OUT=$OUT bash bench/session16_run2.sh
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-out}
BUDGET_S=${BUDGET_S:-300}
R=$OUT/s16run2
mkdir -p "$R"
LOG="$OUT/log.txt"
source bench/device-lib.sh
device_header
TESTS="engine.mamba2-inproj-split engine.mamba2-norm-fold" gpu_tests_and_fixtures "$R" 90
: > "$R/rows.jsonl"
for round in 1 2; do
  for run in "2.8b:base:" "mamba2-2.7b:default:" "mamba2-2.7b:rows-off:--m2-norm-rows off" "130m:base:" \
    "mamba2-130m:default:" "mamba2-130m:rows3328:--m2-inproj-split 3328 --m2-norm-rows on"; do
    IFS=: read -r model tag opts <<< "$run"
    ((SECONDS > BUDGET_S - 30)) && { log "   out of time at round $round $run"; break 2; }
    # shellcheck disable=SC2086
    bench_json "$R/rows.jsonl" "$model $tag" "$round" --model "random:$model" --dtype f16 --prefill 2048 \
      --decode-tokens 8 --eval-tokens 32 $opts
  done
  log "   round $round done (t=${SECONDS}s)"
done
python3 bench/engine_summary.py "$R/rows.jsonl" | tee -a "$LOG"
cp "$LOG" "$R/log.txt"
tar -cJf "$OUT/s16run2.tar.xz" -C "$OUT" s16run2
rm -rf "$R"
