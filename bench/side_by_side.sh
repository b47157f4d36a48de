#!/usr/bin/env bash
# The side-by-side benchmark, in one command on the GPU machine (bench/RESULTS.md says how it was run). For each
# size, smallest first, so a run cut short still holds complete pairs:
#   1. transformers' MambaForCausalLM (PyTorch, CUDA, f32 and f16), random weights, or Mamba2ForCausalLM for a
#      size named mamba2-* (mamba2-130m … mamba2-2.7b); at 130m / mamba2-130m f32 it also saves its weights and
#      the logits of a fixed 64-token sequence (bench/hf_bench.py --save; Mamba-2 into $SAVE-mamba2);
#   2. this engine through Dawn on the same size: at 130m transformers' saved weights, with its logits checked
#      against theirs; at the other sizes random weights generated on the GPU;
# then a merged table of both engines and their ratio (bench/merge_results.py).
# Needs python3 with torch + transformers, node on PATH, dist-bench/soup.mjs (node scripts/bundle-node.mjs) and
# node_modules/webgpu. Writes into $OUT (default ./out): device.txt, hf.jsonl, ours.jsonl, table.md, *.err.
# Every step gets a share of BUDGET_S seconds (default 500), so the whole script ends within it.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-out}
SIZES=${SIZES:-130m,1.4b,2.8b}
DTYPES=${DTYPES:-f32,f16}
HF_PREFILL=${HF_PREFILL:-512,2048}
PREFILL=${PREFILL:-128,512,2048}
SAVE=${SAVE:-/tmp/hf-130m}
BUDGET_S=${BUDGET_S:-500}
mkdir -p "$OUT"
: > "$OUT/hf.jsonl"
: > "$OUT/ours.jsonl"
export PYTHONUNBUFFERED=1

left() { echo $((BUDGET_S - SECONDS)); }
# At most $1 seconds, and never past the budget (minus a margin for the merge).
cap() { local l; l=$(($(left) - 15)); ((l < $1)) && echo $((l > 0 ? l : 1)) || echo "$1"; }

{ date -u; nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null; node --version; } \
  | tee "$OUT/device.txt"

IFS=, read -ra sizes <<< "$SIZES"
IFS=, read -ra dtypes <<< "$DTYPES"
for size in "${sizes[@]}"; do
  (($(left) < 40)) && { echo "== budget spent: stopping before $size"; break; }
  echo "== $size: transformers (t=${SECONDS}s)"
  timeout "$(cap 150)" python3 bench/hf_bench.py --sizes "$size" --dtypes "$DTYPES" --prefill "$HF_PREFILL" \
    --reps "${HF_REPS:-2}" --save "$SAVE" 2>> "$OUT/hf.err" | tee -a "$OUT/hf.jsonl"
  for dtype in "${dtypes[@]}"; do
    if [[ $size == 130m && -f $SAVE/check.safetensors ]]; then
      model=$SAVE; extra=(--check "$SAVE/check.safetensors")
    elif [[ $size == mamba2-130m && -f $SAVE-mamba2/check.safetensors ]]; then
      model=$SAVE-mamba2; extra=(--check "$SAVE-mamba2/check.safetensors")
    else
      model=random:$size; extra=()
    fi
    echo "== $size: this engine, $model $dtype (t=${SECONDS}s)"
    before=$(wc -l < "$OUT/ours.jsonl")
    timeout "$(cap 100)" node dist-bench/soup.mjs bench --model "$model" --dtype "$dtype" --prefill "$PREFILL" \
      --json "${extra[@]}" >> "$OUT/ours.jsonl" 2>> "$OUT/ours.err" || echo "   failed or cut short (rc $?): see ours.err"
    (($(wc -l < "$OUT/ours.jsonl") > before)) && tail -1 "$OUT/ours.jsonl" | cut -c1-400
  done
done

echo "== merged (t=${SECONDS}s)"
python3 bench/merge_results.py "$OUT/hf.jsonl" "$OUT/ours.jsonl" | tee "$OUT/table.md"
tail -n 5 "$OUT/hf.err" "$OUT/ours.err"
