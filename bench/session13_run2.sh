#!/usr/bin/env bash
# Prepared in session 13 for the GPU machine, not run there yet (no machine was lent after run 1). Issue 14:
# 1. The fused decode GEMV with four steps' weights loaded before any is summed (`soup bench --gemv-steps 4`,
#    gemv_fused.wgsl's STEPS4) against one step at a time (the default), back to back, 3 interleaved rounds,
#    decode 64 tokens f16 at the four sizes.
# 2. Dawn's robustness toggles (SOUP_DAWN_EXTRA), prefill 2048 f16 and the page path scoring 256 tokens, 2
#    rounds, on gemm_tiled and on the x2 subgroup-matrix GEMMs: `safe` keeps robust access but lets Dawn skip
#    the clamps it can prove or leave to the driver; `norob` turns robust buffer access off
#    (disable_robustness); `noinit` also skips zeroing workgroup memory. `c1024`: 1024-token prefill chunks (session
#    12 run 1 measured 10-21 % less GPU time per token at 1024 on 64 x 64 tiles; not yet on the per-matrix tiles).
# 2b. Mamba-2's fused SSD without the prefetch of the next chunk (`--ssd fused-noprefetch`: fewer registers, maybe
#    more workgroups an SM) against the default, prefill 2048 f16, 2 rounds.
# 3. bench/gemv-sweep.ts: the engine's kernel at 1, 2, 4 rows, with and without STEPS4, next to the
#    subgroup-per-row kernels, weights cycled past L2.
# Prepare: bash bench/session13_prepare.sh.
# There:
#   tar -xJf dist-bench/all.tar.xz -C dist-bench && source .device-kit/on-device.sh && OUT=$OUT bash bench/session13_run2.sh
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-out}
BUDGET_S=${BUDGET_S:-560}
R=$OUT/run2
mkdir -p "$R"
LOG="$OUT/log.txt"
source bench/device-lib.sh
device_header
: > "$R/engine.jsonl"
for round in 1 2 3; do
  for m in 130m mamba2-130m 2.8b mamba2-2.7b; do
    for steps in 1 4; do
      ((SECONDS > 150)) && { log "   out of time at round $round"; break 3; }
      bench_json "$R/engine.jsonl" "$m steps$steps" "$round" --model "random:$m" --dtype f16 --prefill 512 \
        --decode-tokens 64 --eval-tokens 64 --gemv-steps "$steps"
    done
  done
  log "   round $round done (t=${SECONDS}s)"
done
python3 bench/engine_summary.py "$R/engine.jsonl" | tee -a "$LOG"
SAFE=enable_integer_range_analysis_in_robustness,vulkan_use_buffer_robust_access_2,vulkan_use_cooperative_matrix_robust_access
log "== robustness toggles (t=${SECONDS}s)"
: > "$R/toggles.jsonl"
for round in 1 2; do
  for c in base: norob:disable_robustness safe:$SAFE noinit:disable_robustness,disable_workgroup_init \
    sgmm:+--subgroup-matrix sgmm-norob:disable_robustness+--subgroup-matrix c1024:+--chunk+1024; do
    IFS=: read -r tag rest <<< "$c"
    IFS=+ read -r extra flags <<< "$rest"
    for m in 130m mamba2-130m 2.8b mamba2-2.7b; do
      ((SECONDS > BUDGET_S - 110)) && { log "   out of time at round $round"; break 3; }
      # shellcheck disable=SC2086
      SOUP_DAWN_EXTRA=$extra bench_json "$R/toggles.jsonl" "$m $tag" "$round" --model "random:$m" --dtype f16 \
        --prefill 2048 --decode-tokens 32 --eval-tokens 256 ${flags//+/ }
    done
  done
  log "   round $round done (t=${SECONDS}s)"
done
python3 bench/engine_summary.py "$R/toggles.jsonl" | tee -a "$LOG"
log "== the fused SSD without its prefetch (t=${SECONDS}s)"
: > "$R/ssd.jsonl"
for round in 1 2; do
  for m in mamba2-130m mamba2-2.7b; do
    for ssd in fused fused-noprefetch; do
      ((SECONDS > BUDGET_S - 80)) && { log "   out of time at round $round"; break 3; }
      bench_json "$R/ssd.jsonl" "$m $ssd" "$round" --model "random:$m" --dtype f16 --prefill 2048 \
        --decode-tokens 8 --eval-tokens 32 --ssd "$ssd"
    done
  done
done
python3 bench/engine_summary.py "$R/ssd.jsonl" | tee -a "$LOG"
log "== gemv-sweep (t=${SECONDS}s)"
timeout "$(cap 100)" node dist-bench/gemv-sweep.mjs > "$R/gemv-sweep.txt" 2>&1
log "   rc $?"
grep -v '^{' "$R/gemv-sweep.txt" | tail -40 | tee -a "$LOG"
cp "$LOG" "$R/log.txt"
tar -cJf "$OUT/run2.tar.xz" -C "$OUT" run2
rm -rf "$R"
