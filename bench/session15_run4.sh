#!/usr/bin/env bash
# Session 15's fourth device call (issue 15): where Mamba-2's in_proj is split. Run 3 suggested the prefill
# GEMMs are paced by whole waves of workgroups. Mamba-1 2.8b's in_proj fills 640 workgroups of 128 × 64 (4.85
# waves of 132 SMs, at one a time); Mamba-2 2.7b's whole in_proj takes 664 (5.03) and was 4 ms slower than the
# split one (session 13). At 130m, 424 workgroups of 64 × 64 against Mamba-1's 384.
# `--m2-inproj-split ROW` moves the split: at 2.7b 10,368 (bulk 648 workgroups) and 10,560 (660, exactly 5 waves,
# the thin part only dt's 16 rows) beside the default 10,240 and no split; at 130m 3,328 (bulk 416, dt's 24 rows
# thin) and 3,072 (z | x) beside the default (no split). 2 interleaved rounds, prefill 2048 f16, with Mamba-1
# beside them.
# Prepare: bash bench/session15_prepare.sh. There:
#   tar -xJf dist-bench/all.tar.xz -C dist-bench && source .device-kit/on-device.sh && OUT=$OUT bash bench/session15_run4.sh
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-out}
BUDGET_S=${BUDGET_S:-400}
R=$OUT/s15run4
mkdir -p "$R"
LOG="$OUT/log.txt"
source bench/device-lib.sh
device_header
: > "$R/split.jsonl"
for round in 1 2; do
  for run in 2.8b:base: mamba2-2.7b:base: mamba2-2.7b:at10368:10368 mamba2-2.7b:at10560:10560 \
    mamba2-2.7b:off:off 130m:base: mamba2-130m:base: mamba2-130m:at3328:3328 mamba2-130m:at3072:on; do
    IFS=: read -r model tag at <<< "$run"
    ((SECONDS > BUDGET_S - 30)) && { log "   out of time at round $round $run"; break 2; }
    extra=()
    [[ -n $at ]] && extra=(--m2-inproj-split "$at")
    bench_json "$R/split.jsonl" "$model $tag" "$round" --model "random:$model" --dtype f16 --prefill 2048 \
      --decode-tokens 8 --eval-tokens 32 "${extra[@]}"
  done
  log "   round $round done (t=${SECONDS}s)"
done
python3 bench/engine_summary.py "$R/split.jsonl" | tee -a "$LOG"
cp "$LOG" "$R/log.txt"
tar -cJf "$OUT/s15run4.tar.xz" -C "$OUT" s15run4
rm -rf "$R"
