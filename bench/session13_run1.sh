#!/usr/bin/env bash
# Session 13's first device call (issue 15's prefill criterion: Mamba-2 at least Mamba-1 at the same size).
# Session 12 moved the large in_proj to 128 x 64 tiles; Mamba-2's split of in_proj ([z | x] and [B | C | dt],
# on from d_inner 4,096) was decided on 64 x 64 tiles. Here, ROUNDS rounds each, prefill 2048 f16: both
# families at both sizes on the defaults, Mamba-2 with the split forced the other way, and the fused SSD with 8
# state rows per workgroup (m2_ssd_fused8) on this GPU. Engine runs only (no tests). Prepare with
# bench/session11_prepare.sh; there:
#   tar -xJf dist-bench/all.tar.xz -C dist-bench && source .device-kit/on-device.sh && OUT=$OUT bash bench/session13_run1.sh
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-out}
BUDGET_S=${BUDGET_S:-400}
RUN=${RUN:-run1}
R=$OUT/$RUN
mkdir -p "$R"
LOG="$OUT/log.txt"
source bench/device-lib.sh
device_header
RUNS=${RUNS:-"130m:auto: mamba2-130m:auto: mamba2-130m:split-on:--m2-inproj-split+on mamba2-130m:fused8:--ssd+fused8
2.8b:auto: mamba2-2.7b:auto: mamba2-2.7b:split-off:--m2-inproj-split+off mamba2-2.7b:fused8:--ssd+fused8"}
log "== engine, prefill 2048 f16, ${ROUNDS:=2} round(s) (t=${SECONDS}s)"
: > "$R/engine.jsonl"
for round in $(seq 1 "$ROUNDS"); do
  for run in $RUNS; do
    IFS=: read -r model tag flags <<< "$run"
    ((SECONDS > ${ENGINE_S:-360})) && { log "   out of time at round $round $run"; break 2; }
    # shellcheck disable=SC2086
    timeout "$(cap 60)" node dist-bench/soup.mjs bench --model "random:$model" --dtype f16 --prefill 2048 \
      --decode-tokens 32 --eval-tokens ${EVAL:-64} --json ${flags//+/ } 2>> "$R/engine.err" \
      | sed "s/^{/{\"run\":\"$model $tag\",\"round\":$round,/" >> "$R/engine.jsonl"
  done
  log "   round $round done (t=${SECONDS}s)"
done
python3 bench/engine_summary.py "$R/engine.jsonl" | tee -a "$LOG"
log "== done (t=${SECONDS}s)"
cp "$LOG" "$R/log.txt"
tar -cJf "$OUT/$RUN.tar.xz" -C "$OUT" "$RUN"
rm -rf "$R"
