#!/usr/bin/env bash
# Session 16's first device call (issue 15): two changes that take Mamba-2-only dispatches out of prefill.
#   fold: the gated norm folded into the fused SSD and out_proj (GatedNormForm 'fold', now the default where the
#         SSD is fused) against its own pass (--gated-norm loop, the default before);
#   rows: in_proj's rows past the split made by the RMSNorm before it (m2NormRows, default from d_inner 4,096)
#         against the thin split-K GEMM (--m2-norm-rows off); at 130m forced with the split at 3,328 (dt's 24 rows).
# Mamba-1 beside them at both sizes: 2 interleaved rounds, prefill 2048 f16. First their tests on the hardware
# kernels (the Mamba-2 engine files of the GPU test project) and check-mamba2 on the five fixtures (the CLI's
# eval on the default plan, which now folds).
# Prepare: bash bench/session15_prepare.sh. There:
#   tar -xJf dist-bench/all.tar.xz -C dist-bench && source .device-kit/on-device.sh && OUT=$OUT bash bench/session16_run1.sh
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-out}
BUDGET_S=${BUDGET_S:-400}
R=$OUT/s16run1
mkdir -p "$R"
LOG="$OUT/log.txt"
source bench/device-lib.sh
device_header
TESTS="engine.mamba2.test engine.mamba2-norm-fold engine.mamba2-inproj-split" gpu_tests_and_fixtures "$R" 170
: > "$R/fold.jsonl"
for round in 1 2; do
  for run in "2.8b:base:" "mamba2-2.7b:default:" "mamba2-2.7b:loop:--gated-norm loop" \
    "mamba2-2.7b:rows-off:--m2-norm-rows off" "130m:base:" "mamba2-130m:default:" \
    "mamba2-130m:loop:--gated-norm loop" "mamba2-130m:rows3328:--m2-inproj-split 3328 --m2-norm-rows on"; do
    IFS=: read -r model tag opts <<< "$run"
    ((SECONDS > BUDGET_S - 30)) && { log "   out of time at round $round $run"; break 2; }
    # shellcheck disable=SC2086
    bench_json "$R/fold.jsonl" "$model $tag" "$round" --model "random:$model" --dtype f16 --prefill 2048 \
      --decode-tokens 8 --eval-tokens 32 $opts
  done
  log "   round $round done (t=${SECONDS}s)"
done
python3 bench/engine_summary.py "$R/fold.jsonl" | tee -a "$LOG"
cp "$LOG" "$R/log.txt"
tar -cJf "$OUT/s16run1.tar.xz" -C "$OUT" s16run1
rm -rf "$R"
