#!/usr/bin/env bash
# Mamba-2's tiled SSD kernels on the GPU machine in one device call (about 3 minutes; each step capped):
#   1. bench/m2-ssd-bench.ts: the three SSD passes alone at the 130m and 2.7b shapes, 512 tokens, simple
#      against tiled kernels at Q 16..64 and N slices 8/16, each checked against the float64 reference
#      (PASS/FAIL lines) and timed per pass; its last line names the fastest tiled variant per shape, which
#      settles M2_SCAN_CHUNK_GPU (q) and M2_SCAN_SLICE_GPU (nk) in src/engine/decisions.ts;
#   2. every Mamba-2 fixture through the whole engine on the hardware kernels (check-mamba2: logits, states,
#      greedy continuations; both variants);
#   3. the engine's prefill 2048 at mamba2-130m and mamba2-2.7b, f16, with per-kernel profiles (chunk_state,
#      state_pass, chunk_scan are the SSD passes) to set beside Mamba-1's figures in bench/RESULTS.md.
# Prepare here: bash bench/bundle-check.sh m2-ssd-bench; bash bench/bundle-check.sh check-mamba2;
# node scripts/bundle-node.mjs. There: source .device-kit/on-device.sh; OUT=$OUT bash bench/m2_ssd_run.sh
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-out}
BUDGET_S=${BUDGET_S:-570}
mkdir -p "$OUT"
left() { echo $((BUDGET_S - SECONDS)); }
cap() { local l; l=$(($(left) - 5)); ((l < $1)) && echo $((l > 0 ? l : 1)) || echo "$1"; }
log() { echo "$*" | tee -a "$OUT/log.txt"; }
{ date -u; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null; node --version; } \
  > "$OUT/log.txt"

log "== 1. SSD passes alone (t=${SECONDS}s)"
timeout "$(cap 90)" node dist-bench/m2-ssd-bench.mjs > "$OUT/m2-ssd.txt" 2>&1
log "m2-ssd-bench rc $? ($(grep -c '^PASS' "$OUT/m2-ssd.txt") PASS, $(grep -c '^FAIL' "$OUT/m2-ssd.txt") FAIL)"
grep -v '^{' "$OUT/m2-ssd.txt" | tee -a "$OUT/log.txt"
tail -1 "$OUT/m2-ssd.txt" | tee -a "$OUT/log.txt"

log "== 2. Mamba-2 fixtures through the engine (t=${SECONDS}s)"
timeout "$(cap 90)" node dist-bench/check-mamba2.mjs tests/fixtures/m2-tiny-a tests/fixtures/m2-tiny-b \
  tests/fixtures/m2-tiny-c tests/fixtures/m2-tiny-d tests/fixtures/m2-tiny-e > "$OUT/fixtures.txt" 2>&1
log "check-mamba2 rc $? (passing lines: $(grep -c '"pass":true' "$OUT/fixtures.txt"), failing: $(grep -c '"pass":false' "$OUT/fixtures.txt"))"

for size in mamba2-130m mamba2-2.7b; do
  log "== 3. engine prefill 2048, random:$size f16 (t=${SECONDS}s)"
  timeout "$(cap 120)" node dist-bench/soup.mjs bench --model "random:$size" --dtype f16 --prefill 2048 --json \
    >> "$OUT/engine.jsonl" 2>> "$OUT/engine.err" || log "   failed or cut short (rc $?): see engine.err"
  tail -1 "$OUT/engine.jsonl" | cut -c1-600 | tee -a "$OUT/log.txt"
done
log "done (t=${SECONDS}s)"
