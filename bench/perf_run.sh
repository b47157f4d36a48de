#!/usr/bin/env bash
# This engine alone on the GPU machine (no transformers), after the decode fusion and prefill changes of
# 2026-11-28 (bench/RESULTS.md, "Second pass"): soup bench on random:130m f16/f32 and random:2.8b f16 (then, if
# time is left, 2.8b f32 and 1.4b f16), tiny-b f32/f16, and bench/check-random.ts at 130m (engine vs the CPU
# reference). Needs dist-bench/soup.mjs (scripts/bundle-node.mjs), dist-bench/check-random.mjs
# (bench/bundle-check.sh) and the fixture tiny-b copied to dist-bench/tiny-b. Writes into $OUT (default ./out).
# QUICK=1 (for a dry run on SwiftShader): tiny-b only, --quick, and the check at 130m f32.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-out}
BUDGET_S=${BUDGET_S:-300}
mkdir -p "$OUT"
: > "$OUT/ours.jsonl"
left() { echo $((BUDGET_S - SECONDS)); }
cap() { local l; l=$(($(left) - 5)); ((l < $1)) && echo $((l > 0 ? l : 1)) || echo "$1"; }
bench() { # model dtype timeout [extra...]
  local model=$1 dtype=$2 t=$3
  shift 3
  (($(left) < 15)) && { echo "== budget spent: skipping $model $dtype"; return; }
  echo "== $model $dtype (t=${SECONDS}s)"
  timeout "$(cap "$t")" node dist-bench/soup.mjs bench --model "$model" --dtype "$dtype" --json "$@" \
    >> "$OUT/ours.jsonl" 2>> "$OUT/ours.err" || echo "   failed or cut short (rc $?): see ours.err"
  tail -1 "$OUT/ours.jsonl" | cut -c1-300
}
{ date -u; nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null; node --version; } \
  | tee "$OUT/device.txt"
if [[ ${QUICK:-0} == 1 ]]; then
  bench dist-bench/tiny-b f32 120 --quick
  bench dist-bench/tiny-b f16 120 --quick
  timeout 120 node dist-bench/check-random.mjs --size 130m --dtypes f32 | tee "$OUT/check.jsonl"
  exit 0
fi
bench random:130m f16 60 --prefill 128,512,2048
bench random:2.8b f16 90 --prefill 128,512,2048
bench random:130m f32 60 --prefill 128,512,2048
bench dist-bench/tiny-b f32 30
bench dist-bench/tiny-b f16 30
echo "== check-random 130m (t=${SECONDS}s)"
timeout "$(cap 60)" node dist-bench/check-random.mjs --size 130m --dtypes f32,f16 2>> "$OUT/check.err" \
  | tee "$OUT/check.jsonl"
bench random:2.8b f32 60 --prefill 512,2048
bench random:1.4b f16 50 --prefill 512,2048
echo "== done (t=${SECONDS}s)"
