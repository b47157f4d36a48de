#!/usr/bin/env bash
# The side-by-side benchmark, in one command on the GPU machine (see bench/RESULTS.md for how it is run):
#   1. transformers' MambaForCausalLM (PyTorch, CUDA, f32 and f16) at each size, random weights; at 130m f32
#      it also saves its weights and the logits of a fixed 64-token sequence;
#   2. this engine through Dawn: transformers' saved 130m weights (logits checked against theirs, f32 and f16),
#      then random weights generated on the GPU at the other sizes;
#   3. a merged table (both engines and their ratio).
# Needs: python3 with torch + transformers, node on PATH, dist-bench/soup.mjs (node scripts/bundle-node.mjs),
# node_modules/webgpu. Writes into $OUT (default ./out): hf.jsonl, ours.jsonl, table.md, logs.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-out}
SIZES=${SIZES:-130m,1.4b,2.8b}
DTYPES=${DTYPES:-f32,f16}
PREFILL=${PREFILL:-128,512,2048}
SAVE=${SAVE:-/tmp/hf-130m}
OURS_TIMEOUT=${OURS_TIMEOUT:-150}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
soup() { timeout "$OURS_TIMEOUT" node dist-bench/soup.mjs bench "$@"; }

{ date -u; nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null; node --version; } \
  | tee "$OUT/device.txt"

echo "== transformers"
python3 bench/hf_bench.py --sizes "$SIZES" --dtypes "$DTYPES" --prefill "$PREFILL" --reps "${HF_REPS:-2}" \
  --save "$SAVE" 2> "$OUT/hf.err" | tee "$OUT/hf.jsonl"
tail -3 "$OUT/hf.err"

echo "== this engine (Dawn)"
: > "$OUT/ours.jsonl"
IFS=, read -ra sizes <<< "$SIZES"
IFS=, read -ra dtypes <<< "$DTYPES"
for size in "${sizes[@]}"; do
  for dtype in "${dtypes[@]}"; do
    if [[ $size == 130m && -f $SAVE/check.safetensors ]]; then
      model=$SAVE; extra=(--check "$SAVE/check.safetensors")
    else
      model=random:$size; extra=()
    fi
    echo "-- $model $dtype"
    soup --model "$model" --dtype "$dtype" --prefill "$PREFILL" --json "${extra[@]}" \
      >> "$OUT/ours.jsonl" 2>> "$OUT/ours.err" || echo "   failed or timed out (rc $?): see ours.err"
    tail -1 "$OUT/ours.jsonl" | cut -c1-300
  done
done

echo "== merged"
python3 bench/merge_results.py "$OUT/hf.jsonl" "$OUT/ours.jsonl" | tee "$OUT/table.md"
