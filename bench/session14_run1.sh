#!/usr/bin/env bash
# Session 14's device call (issues 14 and 15). First the questions that decide Mamba-2's prefill against
# Mamba-1 (issue 15: Mamba-2 ≥ Mamba-1 at 130m and 2.7b), then session 13's prepared run 2 in the time left.
# A. Prefill 2048 f16, 2 interleaved rounds, GPU ms per 512-token chunk by kernel: Mamba-1 130m and 2.8b as they
#    are; Mamba-2 130m and 2.7b as they are, with the gated norm read once (`--gated-norm keep`,
#    m2_gated_norm_keep), with the conv on vec4s (`--m2-conv vec4`, m2_conv4), with the fused SSD not loading the next chunk ahead (`--ssd fused-noprefetch`: fewer
#    registers; at 2.7b its 320 workgroups took 2.6× the time of 130m's 96, as if few fit an SM at once), and,
#    at 130m, in_proj on 128 × 64 tiles (`--mid-tile 128x64`: its 3,352 rows on 64 × 64 tiles take 424
#    workgroups where Mamba-1's 3,072 take 384, and cost 18 % more for 9 % more rows), and all three together.
# B. bench/session13_run2.sh with what is left (decode GEMV steps 1 vs 4, Dawn's robustness toggles, 1024-token
#    chunks, the SSD without prefetch, gemv-sweep), its own output in run2.tar.xz.
# Prepare: bash bench/session13_prepare.sh. There:
#   tar -xJf dist-bench/all.tar.xz -C dist-bench && source .device-kit/on-device.sh && OUT=$OUT bash bench/session14_run1.sh
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-out}
BUDGET_S=${BUDGET_S:-570}
R=$OUT/s14run1
mkdir -p "$R"
LOG="$OUT/log14.txt"
source bench/device-lib.sh
device_header
log "== A. Mamba-2 against Mamba-1, prefill 2048 f16 (t=${SECONDS}s)"
RUNS="130m:base: mamba2-130m:base: mamba2-130m:keep:--gated-norm+keep mamba2-130m:conv4:--m2-conv+vec4
mamba2-130m:noprefetch:--ssd+fused-noprefetch mamba2-130m:tile128x64:--mid-tile+128x64
mamba2-130m:all:--gated-norm+keep+--m2-conv+vec4+--ssd+fused-noprefetch 2.8b:base: mamba2-2.7b:base:
mamba2-2.7b:keep:--gated-norm+keep mamba2-2.7b:conv4:--m2-conv+vec4 mamba2-2.7b:noprefetch:--ssd+fused-noprefetch
mamba2-2.7b:all:--gated-norm+keep+--m2-conv+vec4+--ssd+fused-noprefetch"
: > "$R/engine.jsonl"
for round in 1 2; do
  for run in $RUNS; do
    IFS=: read -r model tag flags <<< "$run"
    ((SECONDS > 200)) && { log "   out of time at round $round $run"; break 2; }
    # shellcheck disable=SC2086
    bench_json "$R/engine.jsonl" "$model $tag" "$round" --model "random:$model" --dtype f16 --prefill 2048 \
      --decode-tokens 64 --eval-tokens 64 ${flags//+/ }
  done
  log "   round $round done (t=${SECONDS}s)"
done
python3 bench/engine_summary.py "$R/engine.jsonl" | tee -a "$LOG"
cp "$LOG" "$R/log.txt"
tar -cJf "$OUT/s14run1.tar.xz" -C "$OUT" s14run1
rm -rf "$R"
log "== B. session 13's run 2 (t=${SECONDS}s)"
BUDGET_S=$((BUDGET_S - SECONDS)) bash bench/session13_run2.sh
