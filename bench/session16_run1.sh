#!/usr/bin/env bash
# Session 16's first device call (issue 15): Mamba-2's gated norm folded into the fused SSD and out_proj
# (GatedNormForm 'fold', now the default where the SSD is fused) against its own pass ('loop', the default
# before), with Mamba-1 beside them at both sizes: 2 interleaved rounds, prefill 2048 f16. First the fold's
# tests on the hardware kernels: the Mamba-2 engine files of the GPU test project, and check-mamba2 on the five
# fixtures (the CLI's eval on the default plan, which now folds).
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
TESTS="engine.mamba2.test engine.mamba2-norm-fold" gpu_tests_and_fixtures "$R" 150
: > "$R/fold.jsonl"
for round in 1 2; do
  for run in 2.8b:base: mamba2-2.7b:fold: mamba2-2.7b:loop:loop 130m:base: mamba2-130m:fold: mamba2-130m:loop:loop; do
    IFS=: read -r model tag form <<< "$run"
    ((SECONDS > BUDGET_S - 30)) && { log "   out of time at round $round $run"; break 2; }
    extra=()
    [[ -n $form ]] && extra=(--gated-norm "$form")
    bench_json "$R/fold.jsonl" "$model $tag" "$round" --model "random:$model" --dtype f16 --prefill 2048 \
      --decode-tokens 8 --eval-tokens 32 "${extra[@]}"
  done
  log "   round $round done (t=${SECONDS}s)"
done
python3 bench/engine_summary.py "$R/fold.jsonl" | tee -a "$LOG"
cp "$LOG" "$R/log.txt"
tar -cJf "$OUT/s16run1.tar.xz" -C "$OUT" s16run1
rm -rf "$R"
