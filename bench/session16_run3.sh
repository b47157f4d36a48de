#!/usr/bin/env bash
# Session 16's third device call (issues 15 and 14), on the session's final defaults (rmsnorm_rows with its
# four-oct step making mamba2-2.7b's 16 rows past the last whole tile of in_proj; the gated-norm fold opt-in).
# A. The side by side (bench/side_by_side.sh): transformers' MambaForCausalLM / Mamba2ForCausalLM and this engine,
#    f16, prefill 2048 and decode, at 130m, mamba2-130m, 2.8b and mamba2-2.7b: issue 15's Mamba-2 against Mamba-1
#    at the same size, in one run with transformers.
# B. 3 interleaved rounds of prefill 2048 f16 on the defaults at the four sizes, and mamba2-2.7b with the thin GEMM
#    (--m2-norm-rows off): medians for the before / after.
# C. The Mamba-2 files of the GPU test project on the hardware kernels, and check-mamba2 on the five fixtures.
# Prepare: bash bench/session15_prepare.sh. There:
#   tar -xJf dist-bench/all.tar.xz -C dist-bench && source .device-kit/on-device.sh && OUT=$OUT bash bench/session16_run3.sh
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-out}
BUDGET_S=${BUDGET_S:-560}
R=$OUT/s16run3
mkdir -p "$R"
LOG="$OUT/log.txt"
source bench/device-lib.sh
device_header
log "== A. side by side (t=${SECONDS}s)"
SIZES=130m,mamba2-130m,2.8b,mamba2-2.7b DTYPES=f16 HF_PREFILL=2048 PREFILL=2048 BUDGET_S=260 OUT=$R/sbs \
  bash bench/side_by_side.sh > "$R/sbs.txt" 2>&1
log "   rc $? (t=${SECONDS}s)"
cat "$R/sbs/table.md" >> "$LOG" 2>/dev/null
log "== B. rounds (t=${SECONDS}s)"
: > "$R/rounds.jsonl"
for round in 1 2 3; do
  for run in "2.8b:base:" "mamba2-2.7b:default:" "mamba2-2.7b:rows-off:--m2-norm-rows off" "130m:base:" \
    "mamba2-130m:default:"; do
    IFS=: read -r model tag opts <<< "$run"
    ((SECONDS > BUDGET_S - 170)) && { log "   out of time at round $round $run"; break 2; }
    # shellcheck disable=SC2086
    bench_json "$R/rounds.jsonl" "$model $tag" "$round" --model "random:$model" --dtype f16 --prefill 2048 \
      --decode-tokens 32 --eval-tokens 64 $opts
  done
  log "   round $round done (t=${SECONDS}s)"
done
python3 bench/engine_summary.py "$R/rounds.jsonl" | tee -a "$LOG"
log "== C. tests (t=${SECONDS}s)"
TESTS="engine.mamba2 kernels.mamba2 states.engine.mamba2" gpu_tests_and_fixtures "$R" 150
cp "$LOG" "$R/log.txt"
tar -cJf "$OUT/s16run3.tar.xz" -C "$OUT" s16run3
rm -rf "$R"
