#!/usr/bin/env bash
# Session 15's first device call (issues 15 and 14).
# A. Where the fused SSD's time goes: bench/m2-ssd-bench.ts at the 130m and 2.7b shapes, the fused kernel as it
#    is and with parts of each chunk's work left out (--ablate; shaders/m2_ssd_fused.wgsl's ABLATE bits: 1 (a),
#    2 (b), 4 the staging loads, 8 the exps, 3 both products). The hypothesis: the kernel is bound by workgroup
#    memory delivered to the lanes (about 1 KB a lane a chunk against 256 multiply-adds), not by latency (at 2.7b
#    its time per workgroup-chunk an SM is what it is at 130m, where an SM holds one workgroup).
# B. The GPU test project on the hardware kernels (the vec4 conv is the default since session 14) and
#    check-mamba2 on the five Mamba-2 fixtures.
# C. Prefill 2048 f16 at 512- and 1024-token chunks, the four sizes, 2 interleaved rounds, with the page path
#    scoring 256 tokens and decode 32 tokens.
# Prepare: bash bench/session15_prepare.sh. There:
#   tar -xJf dist-bench/all.tar.xz -C dist-bench && source .device-kit/on-device.sh && OUT=$OUT bash bench/session15_run1.sh
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-out}
BUDGET_S=${BUDGET_S:-560}
R=$OUT/s15run1
mkdir -p "$R"
LOG="$OUT/log.txt"
source bench/device-lib.sh
device_header
log "== A. the fused SSD, ablated (t=${SECONDS}s)"
timeout "$(cap 90)" node dist-bench/m2-ssd-bench.mjs --shapes 130m,2.7b --runs 10 --variants fused \
  --ablate 1,2,3,4,8 > "$R/ssd-ablate.txt" 2>&1
log "   rc $?"
grep -v '^{' "$R/ssd-ablate.txt" | tee -a "$LOG"
log "== B. (t=${SECONDS}s)"
mkdir -p "$R/t"
gpu_tests_and_fixtures "$R/t" 240
log "== C. 512- and 1024-token chunks (t=${SECONDS}s)"
: > "$R/chunks.jsonl"
for round in 1 2; do
  for m in 130m mamba2-130m 2.8b mamba2-2.7b; do
    for chunk in 512 1024; do
      ((SECONDS > BUDGET_S - 40)) && { log "   out of time at round $round"; break 3; }
      bench_json "$R/chunks.jsonl" "$m c$chunk" "$round" --model "random:$m" --dtype f16 --prefill 2048 \
        --decode-tokens 32 --eval-tokens 256 --chunk "$chunk"
    done
  done
  log "   round $round done (t=${SECONDS}s)"
done
python3 bench/engine_summary.py "$R/chunks.jsonl" | tee -a "$LOG"
cp "$LOG" "$R/log.txt"
tar -cJf "$OUT/s15run1.tar.xz" -C "$OUT" s15run1
rm -rf "$R"
