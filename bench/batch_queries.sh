#!/usr/bin/env bash
# Issue 14's batched prefill and decode on the GPU machine, in one device call (about 5 minutes):
#   1. continueMany against per-query generate() on the fixtures (Mamba-1 tiny-a, tiny-b; Mamba-2 m2-tiny-a,
#      m2-tiny-b), both kernel variants, f32 and f16, on the hardware kernels (dist-bench/check-batch.mjs;
#      pass/fail lines);
#   2. queries/s of 8-shot ICL queries (bundled task suite, GPT-NeoX tokenizer), random 130m weights of each
#      family, 8 new tokens each: generate() per query, continueMany at batch 1 and at batch 32 (Mamba-2 130m:
#      its 13 slots) (median of 3), f16 then f32;
#   3. the same for random Mamba-2 2.7b weights in f16 with --batch-memory 2048 (12 slots of its 172 MB states;
#      the default 256 MiB holds none), 24 queries.
# Prepare here: node scripts/bundle-node.mjs; bash bench/bundle-check.sh check-batch. There:
#   source .device-kit/on-device.sh; OUT=$OUT bash bench/batch_queries.sh
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-out}
mkdir -p "$OUT"
{ date -u; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null; node --version; } | tee "$OUT/batch.txt"
echo "== check-batch" | tee -a "$OUT/batch.txt"
timeout 180 node dist-bench/check-batch.mjs tests/fixtures/tiny-a tests/fixtures/tiny-b tests/fixtures/m2-tiny-a \
  tests/fixtures/m2-tiny-b 2>&1 | tee -a "$OUT/batch.txt"
echo "check-batch rc ${PIPESTATUS[0]}" | tee -a "$OUT/batch.txt"
for model in 130m mamba2-130m; do
  for dtype in f16 f32; do
    echo "== batch-queries random:$model $dtype" | tee -a "$OUT/batch.txt"
    # --batch left out: 32, or the engine's slots where fewer (13 for Mamba-2 130m's 19 MB states).
    timeout 240 node dist-bench/soup.mjs bench --batch-queries --model "random:$model" --dtype "$dtype" \
      --queries 64 --shots 8 --new-tokens 8 --repeats 3 2>>"$OUT/batch-stderr.txt" | tee -a "$OUT/batch.txt"
    echo "batch-queries $model $dtype rc ${PIPESTATUS[0]}" | tee -a "$OUT/batch.txt"
  done
done
echo "== batch-queries random:mamba2-2.7b f16 --batch-memory 2048" | tee -a "$OUT/batch.txt"
timeout 300 node dist-bench/soup.mjs bench --batch-queries --model random:mamba2-2.7b --dtype f16 --batch-memory 2048 \
  --queries 24 --shots 8 --new-tokens 8 --repeats 3 2>>"$OUT/batch-stderr.txt" | tee -a "$OUT/batch.txt"
echo "batch-queries mamba2-2.7b f16 rc ${PIPESTATUS[0]}" | tee -a "$OUT/batch.txt"
