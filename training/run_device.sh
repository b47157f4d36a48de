#!/usr/bin/env bash
# Runs the training pipeline on the GPU machine. Usage (repository root): bash training/run_device.sh OUT_DIR [smoke]
# Everything a run produces lands in OUT_DIR (at most 8 files: the device tool returns no more).
#
# ARCH=mamba1 (default): the default Mamba-1, as before.
# ARCH=mamba2: the bundled Mamba-2 (training/mamba2_torch.py) on the same data, with the default model's tokenizer;
#   WORKERS (default 3) sampler processes make the batches beside the GPU (train.py --workers).
#   smoke (about 60 s): test_mamba2_torch.py (scan vs recurrence, model vs a token loop and vs transformers' Mamba2ForCausalLM
#     in float64, the committed m2-tiny fixtures), then a tiny model through every stage of train.py on the GPU
#     (training, export, transformers check, evaluation on 10 prompts per task) and a step-time probe of the real size.
#     Also writes the fixtures (below) first and holds the torch model to them too.
#     Writes log.txt, results.json, golden.safetensors, tokcheck.json, model.tar, fixtures.tar.
#   full: BUDGET_S seconds of training (default 330), then the fixtures of tests/fixtures/generate_mamba2.py
#     (FIXTURES=0 skips them). Writes log.txt, results.json, golden.safetensors, tokcheck.json, model.tar (the
#     public/models folder: config.json, model.safetensors, tokenizer.json, tasks.json) and fixtures.tar.
set -uo pipefail
OUT_DIR=$1
MODE=${2:-full}
ARCH=${ARCH:-mamba1}
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=true
mkdir -p "$OUT_DIR"
TOK=public/models/soup-mamba-4.6m/tokenizer.json

pack_model() { # one file instead of four; the device tool returns at most 8
  if [ -d "$OUT_DIR/model" ]; then
    tar -C "$OUT_DIR" -cf "$OUT_DIR/model.tar" model && rm -rf "$OUT_DIR/model" && echo "packed $OUT_DIR/model.tar"
  fi
}

make_fixtures() { # tests/fixtures/generate_mamba2.py into $1, packed as OUT_DIR/fixtures.tar
  if python3 tests/fixtures/generate_mamba2.py "$1" --compare tests/fixtures; then
    tar -C "$1" -cf "$OUT_DIR/fixtures.tar" . && echo "packed $OUT_DIR/fixtures.tar: $(tar -tf "$OUT_DIR/fixtures.tar" | tr '\n' ' ')"
  else
    echo "FAIL: generate_mamba2.py"
    return 1
  fi
}

run_mamba2() {
  local rc=0 fx
  for f in training/data/text_train.jsonl training/data/text_val.jsonl training/data/tasks.json \
    training/data/eval_prompts.json "$TOK"; do
    [ -f "$f" ] || { echo "FAIL: $f is missing (run fetch_sources.sh and prepare_data.py, and carry training/data)"; return 1; }
  done
  fx=$(mktemp -d)
  if [ "$MODE" = smoke ]; then
    # The new fixtures first, so that the checks below also hold the torch model to their states and mixes.
    make_fixtures "$fx" || rc=1
    M2_FIXTURES=$(ls -d "$fx"/m2-tiny-* 2>/dev/null | tr '\n' ':') python3 training/test_mamba2_torch.py --require-hf || rc=1
    python3 training/train.py --arch mamba2 --out "$OUT_DIR" --smoke --budget-s 6 --tokenizer "$TOK" \
      --workers "${WORKERS:-3}" --probe "256,8,64,256" || rc=1
  else
    python3 training/train.py --arch mamba2 --out "$OUT_DIR" --budget-s "${BUDGET_S:-330}" --tokenizer "$TOK" \
      --workers "${WORKERS:-3}" ${TRAIN_ARGS:-} || rc=1
    if [ "${FIXTURES:-1}" = 1 ]; then make_fixtures "$fx" || rc=1; fi
  fi
  pack_model
  [ $rc = 0 ] && echo "PASS run_device.sh ARCH=mamba2 $MODE" || echo "FAIL run_device.sh ARCH=mamba2 $MODE (see above)"
  return $rc
}

{
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  python3 -c 'import torch, transformers, tokenizers; print("torch", torch.__version__, "transformers", transformers.__version__, "tokenizers", tokenizers.__version__)'
  if [ "$ARCH" = mamba2 ]; then
    run_mamba2
  elif [ "$MODE" = smoke ]; then
    python3 training/test_mamba_torch.py
    python3 training/train.py --out "$OUT_DIR" --smoke --budget-s 20 --probe "256,8,64,256;256,8,128,256;320,8,64,256"
  else
    python3 training/train.py --out "$OUT_DIR" --budget-s "${BUDGET_S:-400}" ${TRAIN_ARGS:-}
  fi
} 2>&1 | tee "$OUT_DIR/log.txt"
exit "${PIPESTATUS[0]}"
