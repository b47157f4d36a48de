#!/usr/bin/env bash
# The first device call after sessions 8 and 9, which had no GPU machine (issue 15, Mamba-2 prefill against
# Mamba-1). 1. The fused SSD kernel alone at the head counts h24 … h133 (bench/m2-ssd-bench.ts --shapes h<n>:
# 4 workgroups a head), to see where its time steps up with the number of workgroups, i.e. how many an SM holds
# at once; and at the 130m and 2.7b shapes; beside it the 8-row kernel (m2_ssd_fused8, --ssd fused8), twice the
# workgroups of half the size, and the passes on subgroup matrices (session 9: m2_ssd_chunk_*_sgmm at Q 32 and
# 64). 2. The GPU test files of Mamba-2's kernels and engine (the sgmm ones on the real tensor cores) and of the
# GEMMs on the hardware kernels. 3. check-mamba2 (the five fixtures through the CLI). 4. The engine, prefill
# 2048 f16, before (dist-bench/soup-before.mjs: main at 6fbd13b, session 8's start), nosplit
# (dist-bench/soup-nosplit.mjs: main at b357829, with the vec4 gated norm, the conv's filter in registers and
# fused8, before in_proj's split), after (dist-bench/soup.mjs), after with --ssd fused8 and after with --ssd
# sgmm, Mamba-2 at 130m and 2.7b beside Mamba-1 (session 10 adds `start`, dist-bench/soup-start.mjs: main at
# ae5a79b, session 10's start; and `split`, after with --m2-inproj-split on), in ROUNDS interleaved rounds (median of 3 by default; the
# twelve runs of a round take about 3.5 minutes, so ROUNDS=3 needs two calls: RUN=run1b).
# Results in $OUT/$RUN.tar.xz.
# Prepare: bash bench/session9_prepare.sh. There: OUT=$OUT bash bench/session9_run1.sh (RUN=, ROUNDS=, QUICK=1 (no
# tests), TESTS=… (GPU test files), PROBE=… (m2-ssd-bench shapes, "" for none), MODELS=… (the engine's runs)).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-out}
BUDGET_S=${BUDGET_S:-575}
RUN=${RUN:-run1}
R=$OUT/$RUN
mkdir -p "$R"
LOG="$R/log.txt"
source bench/device-lib.sh
device_header

PROBE=${PROBE-h24,h33,h34,h48,h66,h67,h80,h99,h100,h132,h133,130m,2.7b}
if [[ -n $PROBE ]]; then
  log "== 1. fused SSD alone: $PROBE (t=${SECONDS}s)"
  timeout "$(cap 150)" node dist-bench/m2-ssd-bench.mjs --shapes "$PROBE" --variants fused,fused8,sgmm32,sgmm64 --runs 10 \
    > "$R/m2-ssd-bench.txt" 2>&1
  log "   rc $?"
  grep -E '^(h|130m|2\.7b) \(|^(fused|sgmm)|^(FAIL|SKIP)' "$R/m2-ssd-bench.txt" | tee -a "$LOG"
fi

if [[ -n ${QUICK:-} ]]; then
  log "== (quick: no tests)"
else
  log "== 2. GPU tests: ${TESTS:-kernels.mamba2 kernels.m2-ssd-sgmm engine.m2-ssd-sgmm kernels.sgmm-emulated engine.mamba2 kernels.bind-by-name engine.prefill-tiles default-model-mamba2 engine.batch kernels.batch} (t=${SECONDS}s)"
  SOUP_CLI=dist-bench/soup.mjs timeout "$(cap 200)" node dist-bench/gpu-tests.mjs ${TESTS:-kernels.mamba2 kernels.m2-ssd-sgmm engine.m2-ssd-sgmm kernels.sgmm-emulated engine.mamba2 kernels.bind-by-name engine.prefill-tiles default-model-mamba2 engine.batch kernels.batch} \
    > "$R/gpu-tests.txt" 2>&1
  log "   rc $?: $(grep -m1 'gpu tests:' "$R/gpu-tests.txt")"
  grep '^FAIL' "$R/gpu-tests.txt" | head -20 | tee -a "$LOG"
  log "== 3. check-mamba2 (t=${SECONDS}s)"
  timeout "$(cap 60)" node dist-bench/check-mamba2.mjs tests/fixtures/m2-tiny-{a,b,c,d,e} > "$R/check-mamba2.txt" 2>&1
  log "   rc $?: $(tail -n 1 "$R/check-mamba2.txt")"
fi

log "== 4. engine, prefill 2048 f16, before / after, ${ROUNDS:-3} rounds (t=${SECONDS}s)"
: > "$R/engine.jsonl"
MODELS=${MODELS:-"mamba2-130m:before mamba2-130m:nosplit mamba2-130m:after mamba2-130m:fused8 mamba2-130m:sgmm 130m:after mamba2-2.7b:before mamba2-2.7b:nosplit mamba2-2.7b:after mamba2-2.7b:fused8 mamba2-2.7b:sgmm 2.8b:after"}
for round in $(seq 1 "${ROUNDS:-3}"); do
  for run in $MODELS; do
    model=${run%%:*}
    which=${run##*:}
    ((SECONDS > BUDGET_S - 60)) && { log "   out of time at round $round $run"; break 2; }
    cli=dist-bench/soup.mjs
    extra=()
    [[ $which == before ]] && cli=dist-bench/soup-before.mjs
    [[ $which == nosplit ]] && cli=dist-bench/soup-nosplit.mjs
    [[ $which == start ]] && cli=dist-bench/soup-start.mjs
    [[ $which == split ]] && extra=(--m2-inproj-split on)
    [[ $which == fused8 ]] && extra=(--ssd fused8)
    [[ $which == sgmm ]] && extra=(--ssd sgmm)
    timeout "$(cap 60)" node "$cli" bench --model "random:$model" --dtype f16 --prefill 2048 \
      --decode-tokens 32 --eval-tokens 64 --json "${extra[@]}" 2>> "$R/engine.err" \
      | sed "s/^{/{\"run\":\"$model $which\",\"round\":$round,/" >> "$R/engine.jsonl"
  done
  log "   round $round done (t=${SECONDS}s)"
done
python3 bench/engine_summary.py "$R/engine.jsonl" | tee -a "$LOG"
log "== done (t=${SECONDS}s)"
tar -cJf "$OUT/$RUN.tar.xz" -C "$OUT" "$RUN"
