#!/usr/bin/env bash
# One session's measurements on the GPU machine, in two stages that each fit one 10-minute device call and
# return at most 8 files (the device tool brings back no more):
#   STAGE=checks  the GPU test project on the hardware kernels (dist-bench/gpu-tests.mjs, Dawn toggles on),
#                 every Mamba-1 and Mamba-2 fixture through check-fixtures / check-mamba2, the transformers
#                 check of docs/states.md's Mamba-2 recipe, then Mamba-1 against Mamba-2 against transformers
#                 at 130m and 2.7b/2.8b (bench/side_by_side.sh);
#   STAGE=speed   before/after of this session's engine (BEFORE/AFTER bundles, bench/before_after.sh), f16 at
#                 130m and 2.8b, then int8 (bench/int8_run.sh: 2.8b int8 against f16, held-out perplexity).
# Prepare here: node scripts/bundle-node.mjs; node scripts/bundle-gpu-tests.mjs; bash bench/bundle-check.sh
# check-fixtures; bash bench/bundle-check.sh check-mamba2; dist-bench/soup-before.mjs = the bundle of the
# commit before. Run there (carry .device-kit and the dist-bench files):
#   source .device-kit/on-device.sh; STAGE=checks OUT=$OUT bash bench/session_h200.sh
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-out}
STAGE=${STAGE:-checks}
BUDGET_S=${BUDGET_S:-560}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
left() { echo $((BUDGET_S - SECONDS)); }
cap() { local l; l=$(($(left) - 10)); ((l < $1)) && echo $((l > 0 ? l : 1)) || echo "$1"; }
{ date -u; nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null; node --version; } \
  > "$OUT/log.txt"

if [[ $STAGE == checks ]]; then
  echo "== GPU test project (t=${SECONDS}s)" | tee -a "$OUT/log.txt"
  timeout "$(cap ${GPU_TESTS_S:-230})" node dist-bench/gpu-tests.mjs > "$OUT/gpu-tests.txt" 2>&1
  echo "   rc $?: $(tail -1 "$OUT/gpu-tests.txt" | cut -c1-200)" | tee -a "$OUT/log.txt"
  grep -m1 "gpu tests:" "$OUT/gpu-tests.txt" | tee -a "$OUT/log.txt"
  echo "== fixtures (t=${SECONDS}s)" | tee -a "$OUT/log.txt"
  {
    timeout "$(cap 60)" node dist-bench/check-fixtures.mjs tests/fixtures/tiny-a tests/fixtures/tiny-b
    echo "check-fixtures rc $?"
    timeout "$(cap 60)" node dist-bench/check-mamba2.mjs tests/fixtures/m2-tiny-a tests/fixtures/m2-tiny-b \
      tests/fixtures/m2-tiny-c tests/fixtures/m2-tiny-d tests/fixtures/m2-tiny-e
    echo "check-mamba2 rc $?"
    timeout "$(cap 60)" python3 tests/py/hf_continue_mamba2.py tests/fixtures/states/m2-tiny-a-head.state.safetensors \
      tests/fixtures/m2-tiny-a
    echo "hf_continue_mamba2 rc $?"
  } > "$OUT/fixtures.txt" 2>&1
  grep -E "rc [0-9]+$|SUMMARY|RESULT" "$OUT/fixtures.txt" | tee -a "$OUT/log.txt"
  echo "== Mamba-1 / Mamba-2 / transformers (t=${SECONDS}s)" | tee -a "$OUT/log.txt"
  OUT=$OUT/sbs SIZES=${SBS_SIZES:-130m,mamba2-130m,2.8b,mamba2-2.7b} DTYPES=${SBS_DTYPES:-f16} HF_PREFILL=2048 \
    PREFILL=512,2048 HF_REPS=1 BUDGET_S=$(($(left) - 5)) bash bench/side_by_side.sh >> "$OUT/log.txt" 2>&1
  cp "$OUT/sbs/table.md" "$OUT/sbs-table.md" 2>/dev/null
  cat "$OUT/sbs/hf.jsonl" "$OUT/sbs/ours.jsonl" > "$OUT/sbs.jsonl" 2>/dev/null
  tail -n 20 "$OUT"/sbs/*.err >> "$OUT/log.txt" 2>/dev/null
  rm -rf "$OUT/sbs"
else
  echo "== before/after, f16 (t=${SECONDS}s)" | tee -a "$OUT/log.txt"
  OUT=$OUT/ba SIZES=${BA_SIZES:-130m,2.8b} DTYPES=f16 ROUNDS=${ROUNDS:-2} BUDGET_S=$(($(left) - ${INT8_S:-190})) \
    bash bench/before_after.sh >> "$OUT/log.txt" 2>&1
  cp "$OUT/ba/table.md" "$OUT/ba-table.md" 2>/dev/null
  for f in hf before after; do sed "s/^/$f\t/" "$OUT/ba/$f.jsonl"; done > "$OUT/ba.tsv" 2>/dev/null
  tail -n 20 "$OUT"/ba/*.err >> "$OUT/log.txt" 2>/dev/null
  rm -rf "$OUT/ba"
  echo "== int8 (bench/int8_run.sh, t=${SECONDS}s)" | tee -a "$OUT/log.txt"
  OUT=$OUT/int8 timeout "$(cap 400)" bash bench/int8_run.sh >> "$OUT/log.txt" 2>&1
  echo "   rc $?" | tee -a "$OUT/log.txt"
  cp "$OUT/int8/int8.jsonl" "$OUT/int8/int8-perplexity.txt" "$OUT/" 2>/dev/null
  rm -rf "$OUT/int8"
fi
echo "== done (t=${SECONDS}s)" | tee -a "$OUT/log.txt"
