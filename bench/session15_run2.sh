#!/usr/bin/env bash
# Session 15's second device call (issue 15: Mamba-2 prefill at least Mamba-1's). Run 1's ablation of the fused
# SSD (bench/runs/2026-12-06-h100-session15) showed its two products with the state cost about 40 of its 83 µs a
# layer at 130m and that at 2.7b leaving any part out halved its time. m2_ssd_fused4r holds four state rows an
# invocation (half the workgroup-memory bytes per multiply-add, 128 invocations a workgroup).
# A. bench/m2-ssd-bench.ts at the 130m and 2.7b shapes: fused, fused4r and fused4r without its prefetch.
# B. Prefill 2048 f16 (decode 32, page path 256), 3 interleaved rounds: Mamba-1 130m and 2.8b, Mamba-2 130m and
#    2.7b as they are and with `--ssd fused4r`.
# C. The GPU test project's files that run 1's 240 s did not reach, with the new kernel's tests.
# Prepare: bash bench/session15_prepare.sh. There:
#   tar -xJf dist-bench/all.tar.xz -C dist-bench && source .device-kit/on-device.sh && OUT=$OUT bash bench/session15_run2.sh
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-out}
BUDGET_S=${BUDGET_S:-560}
R=$OUT/s15run2
mkdir -p "$R"
LOG="$OUT/log.txt"
source bench/device-lib.sh
device_header
log "== A. the fused SSD kernels (t=${SECONDS}s)"
timeout "$(cap 60)" node dist-bench/m2-ssd-bench.mjs --shapes 130m,2.7b --runs 10 \
  --variants fused,fused4r,fused4r-np > "$R/ssd.txt" 2>&1
log "   rc $?"
grep -v '^{' "$R/ssd.txt" | tee -a "$LOG"
log "== B. prefill 2048 f16 (t=${SECONDS}s)"
: > "$R/engine.jsonl"
for round in 1 2 3; do
  for run in 130m:base: mamba2-130m:base: mamba2-130m:fused4r:--ssd+fused4r 2.8b:base: mamba2-2.7b:base: \
    mamba2-2.7b:fused4r:--ssd+fused4r; do
    IFS=: read -r model tag flags <<< "$run"
    ((SECONDS > 200)) && { log "   out of time at round $round $run"; break 2; }
    # shellcheck disable=SC2086
    bench_json "$R/engine.jsonl" "$model $tag" "$round" --model "random:$model" --dtype f16 --prefill 2048 \
      --decode-tokens 32 --eval-tokens 256 ${flags//+/ }
  done
  log "   round $round done (t=${SECONDS}s)"
done
python3 bench/engine_summary.py "$R/engine.jsonl" | tee -a "$LOG"
mkdir -p "$R/t"
TESTS="kernels.mamba2 engine.mamba2.test kernels.m2-ssd-sgmm shaders.compile kernels.test kernels.w8a8 mix.gpu
model-engine states.engine studies worker-service" gpu_tests_and_fixtures "$R/t" $(($(left) - 60))
cp "$LOG" "$R/log.txt"
tar -cJf "$OUT/s15run2.tar.xz" -C "$OUT" s15run2
rm -rf "$R"
