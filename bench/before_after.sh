#!/usr/bin/env bash
# Before and after a change, back to back on one GPU machine, with transformers in the same run: the side-by-side
# benchmark of bench/side_by_side.sh, but each of our two bundles (BEFORE, AFTER: `node scripts/bundle-node.mjs`
# at each commit) is run ROUNDS times per size and dtype, interleaved (before, after, before, …) so drift hits
# both alike; bench/before_after.py prints the medians, the run-to-run spread and the dispatches per token.
# At 130m both read transformers' saved weights (so --check compares their logits with transformers').
# Writes into $OUT: device.txt, hf.jsonl, before.jsonl, after.jsonl, table.md, *.err.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-out}
BEFORE=${BEFORE:-dist-bench/soup-before.mjs}
AFTER=${AFTER:-dist-bench/soup.mjs}
SIZES=${SIZES:-130m,2.8b}
DTYPES=${DTYPES:-f16,f32}
ROUNDS=${ROUNDS:-3}
SAVE=${SAVE:-/tmp/hf-130m}
BUDGET_S=${BUDGET_S:-540}
mkdir -p "$OUT"
: > "$OUT/hf.jsonl"; : > "$OUT/before.jsonl"; : > "$OUT/after.jsonl"
export PYTHONUNBUFFERED=1
left() { echo $((BUDGET_S - SECONDS)); }
cap() { local l; l=$(($(left) - 10)); ((l < $1)) && echo $((l > 0 ? l : 1)) || echo "$1"; }

{ date -u; nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null; node --version; } \
  | tee "$OUT/device.txt"
echo "== transformers (t=${SECONDS}s)"
timeout "$(cap 200)" python3 bench/hf_bench.py --sizes "$SIZES" --dtypes "$DTYPES" --prefill 2048 --reps 2 \
  --save "$SAVE" 2>> "$OUT/hf.err" | tee -a "$OUT/hf.jsonl"

IFS=, read -ra sizes <<< "$SIZES"
IFS=, read -ra dtypes <<< "$DTYPES"
for round in $(seq 1 "$ROUNDS"); do
  for size in "${sizes[@]}"; do
    for dtype in "${dtypes[@]}"; do
      for which in before after; do
        (($(left) < 20)) && { echo "== budget spent in round $round"; break 4; }
        bundle=$BEFORE; [[ $which == after ]] && bundle=$AFTER
        model=random:$size; extra=()
        [[ $size == 130m && -f $SAVE/check.safetensors ]] && { model=$SAVE; extra=(--check "$SAVE/check.safetensors"); }
        echo "== round $round: $which $size $dtype (t=${SECONDS}s)"
        timeout "$(cap 90)" node "$bundle" bench --model "$model" --dtype "$dtype" --prefill 512,2048 --json \
          "${extra[@]}" >> "$OUT/$which.jsonl" 2>> "$OUT/$which.err" || echo "   failed (rc $?)"
      done
    done
  done
done
python3 bench/before_after.py "$OUT/hf.jsonl" "$OUT/before.jsonl" "$OUT/after.jsonl" | tee "$OUT/table.md"
