#!/usr/bin/env bash
# Session 7's first device call: Mamba-2's fused SSD pair (m2_ssd_cb → m2_ssd_fused: the state carried through
# the chunks in registers) against the three tiled passes. 1. bench/m2-ssd-bench.ts at the 130m and 2.7b shapes
# (16 and 8 state rows per workgroup beside tiled16, each checked against the float64 reference); 2. the GPU
# test files of Mamba-2's kernels and engine on the hardware kernels; 3. check-mamba2 (the fixtures through the
# CLI); 4. the engine, prefill 2048 f16, with --ssd fused and --ssd passes at mamba2-130m and mamba2-2.7b,
# beside Mamba-1 at 130m and 2.8b, in three interleaved rounds (median of 3). Results in $OUT/run1.tar.xz.
# Prepare: node scripts/bundle-node.mjs; node scripts/bundle-gpu-tests.mjs; bash bench/bundle-check.sh
# m2-ssd-bench; pack them into dist-bench/all.tar.xz. There: OUT=$OUT bash bench/session7_run1.sh
# (RUN names the results' folder; ROUNDS=1, QUICK=1 (no tests), TESTS=… (GPU test files) and SSD_VARIANTS=… make
# the later calls.)
# Run 1 had the first fused kernel at 16 and 8 state rows per workgroup (fused16, fused8); runs 2 on, its second
# version (no private arrays indexed at run time), 16 rows only.
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

log "== 1. SSD kernels alone (t=${SECONDS}s)"
timeout "$(cap 90)" node dist-bench/m2-ssd-bench.mjs --shapes 130m,2.7b --variants ${SSD_VARIANTS:-tiled16,fused} --runs 20 \
  > "$R/m2-ssd-bench.txt" 2>&1
log "   rc $?"
grep -vE '^\{' "$R/m2-ssd-bench.txt" | tail -14 | tee -a "$R/log.txt"

if [[ -n ${QUICK:-} ]]; then
  log "== (quick: no tests)"
else
log "== 2. GPU tests: kernels.mamba2, engine.mamba2 (t=${SECONDS}s)"
SOUP_CLI=dist-bench/soup.mjs timeout "$(cap 150)" node dist-bench/gpu-tests.mjs ${TESTS:-kernels.mamba2 engine.mamba2} \
  > "$R/gpu-tests.txt" 2>&1
log "   rc $?: $(grep -m1 'gpu tests:' "$R/gpu-tests.txt")"
grep '^FAIL' "$R/gpu-tests.txt" | head -20 | tee -a "$R/log.txt"

log "== 3. check-mamba2 (t=${SECONDS}s)"
timeout "$(cap 60)" node dist-bench/check-mamba2.mjs tests/fixtures/m2-tiny-{a,b,c,d,e} > "$R/check-mamba2.txt" 2>&1
log "   rc $?: $(tail -n 1 "$R/check-mamba2.txt")"
fi

log "== 4. engine, prefill 2048 f16, three rounds (t=${SECONDS}s)"
: > "$R/engine.jsonl"
for round in $(seq 1 "${ROUNDS:-3}"); do
  for run in "mamba2-130m fused" "mamba2-130m passes" "130m -" "mamba2-2.7b fused" "mamba2-2.7b passes" "2.8b -"; do
    set -- $run
    ((SECONDS > BUDGET_S - 60)) && { log "   out of time at round $round $run"; break 2; }
    extra=()
    [[ $2 != - ]] && extra=(--ssd "$2")
    timeout "$(cap 60)" node dist-bench/soup.mjs bench --model "random:$1" --dtype f16 --prefill 2048 \
      --decode-tokens 32 --eval-tokens 64 --json "${extra[@]}" 2>> "$R/engine.err" \
      | sed "s/^{/{\"run\":\"$1 $2\",\"round\":$round,/" >> "$R/engine.jsonl"
  done
  log "   round $round done (t=${SECONDS}s)"
done
python3 bench/engine_summary.py "$R/engine.jsonl" | tee -a "$R/log.txt"
log "== done (t=${SECONDS}s)"
tar -cJf "$OUT/$RUN.tar.xz" -C "$OUT" "$RUN"
