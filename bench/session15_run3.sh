#!/usr/bin/env bash
# Session 15's third device call (issues 15 and 14), on the code with m2_ssd_fused4r the default from d_inner 4,096.
# A. The side by side (bench/side_by_side.sh): transformers' MambaForCausalLM / Mamba2ForCausalLM and this engine,
#    f16, prefill 2048 and decode, at 130m, mamba2-130m, 2.8b and mamba2-2.7b: issue 15's Mamba-2 against Mamba-1
#    at the same size, in one run with transformers.
# B. Round 3 of run 1's 512- against 1024-token chunks (prefill 2048 f16, decode 32, page path 256), and
#    mamba2-130m's in_proj on other tiles (its 3,352 rows took 2.86 ms a chunk where Mamba-1's 3,072 took 2.42 on
#    the same 64 × 64 tiles, but 4.82 against 4.79 at 1024-token chunks): `--mid-tile 64x128`, `--big-tiles 1`
#    (128 × 128), `--split-target 800` (split-K in two), 2 rounds, beside 130m on the same options.
# Prepare: bash bench/session15_prepare.sh. There:
#   tar -xJf dist-bench/all.tar.xz -C dist-bench && source .device-kit/on-device.sh && OUT=$OUT bash bench/session15_run3.sh
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-out}
BUDGET_S=${BUDGET_S:-560}
R=$OUT/s15run3
mkdir -p "$R"
LOG="$OUT/log.txt"
source bench/device-lib.sh
device_header
log "== A. side by side (t=${SECONDS}s)"
SIZES=130m,mamba2-130m,2.8b,mamba2-2.7b DTYPES=f16 HF_PREFILL=2048 PREFILL=2048 BUDGET_S=300 OUT=$R/sbs \
  bash bench/side_by_side.sh > "$R/sbs.txt" 2>&1
log "   rc $? (t=${SECONDS}s)"
cat "$R/sbs/table.md" >> "$LOG" 2>/dev/null
log "== B. chunks, round 3 (t=${SECONDS}s)"
: > "$R/chunks.jsonl"
for m in 130m mamba2-130m 2.8b mamba2-2.7b; do
  for chunk in 512 1024; do
    ((SECONDS > BUDGET_S - 90)) && { log "   out of time"; break 2; }
    bench_json "$R/chunks.jsonl" "$m c$chunk" 3 --model "random:$m" --dtype f16 --prefill 2048 \
      --decode-tokens 32 --eval-tokens 256 --chunk "$chunk"
  done
done
python3 bench/engine_summary.py "$R/chunks.jsonl" | tee -a "$LOG"
log "== B2. in_proj tiles at 130m (t=${SECONDS}s)"
: > "$R/tiles.jsonl"
for round in 1 2; do
  for run in base: t64x128:--mid-tile+64x128 big:--big-tiles+1 split800:--split-target+800; do
    IFS=: read -r tag flags <<< "$run"
    for m in 130m mamba2-130m; do
      ((SECONDS > BUDGET_S - 25)) && { log "   out of time at round $round"; break 3; }
      # shellcheck disable=SC2086
      bench_json "$R/tiles.jsonl" "$m $tag" "$round" --model "random:$m" --dtype f16 --prefill 2048 \
        --decode-tokens 8 --eval-tokens 32 ${flags//+/ }
    done
  done
done
python3 bench/engine_summary.py "$R/tiles.jsonl" | tee -a "$LOG"
cp "$LOG" "$R/log.txt"
tar -cJf "$OUT/s15run3.tar.xz" -C "$OUT" s15run3
rm -rf "$R"
