#!/usr/bin/env bash
# Runs the training pipeline on the GPU machine. Usage (repository root): bash training/run_device.sh OUT_DIR [smoke]
# Everything a run produces lands in OUT_DIR (at most 8 files: the device tool returns no more).
set -uo pipefail
OUT_DIR=$1
MODE=${2:-full}
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=true
mkdir -p "$OUT_DIR"
{
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  python3 -c 'import torch, transformers, tokenizers; print("torch", torch.__version__, "transformers", transformers.__version__, "tokenizers", tokenizers.__version__)'
  if [ "$MODE" = smoke ]; then
    python3 training/test_mamba_torch.py
    python3 training/train.py --out "$OUT_DIR" --smoke --budget-s 20 --probe "256,8,64,256;256,8,128,256;320,8,64,256"
  else
    python3 training/train.py --out "$OUT_DIR" --budget-s "${BUDGET_S:-400}" ${TRAIN_ARGS:-}
  fi
} 2>&1 | tee "$OUT_DIR/log.txt"
