#!/usr/bin/env bash
# Session 7's sixth device call, at 2c98269 (the fused SSD, decisions.ts and model.ts split): 1. the GPU test
# project on the hardware kernels; 2. check-fixtures, check-mamba2 (five fixtures), check-batch; 3. an experiment
# on m2_ssd_fused: its next chunk loaded after the staging barrier (as committed) against loaded at the top of each
# chunk (dist-bench/m2-ssd-bench-np.mjs, built from a kernel with the prefetch removed), to see whether the
# registers the prefetch holds limit how many workgroups share an SM at 2.7b. Results in $OUT/run6.tar.xz.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-out}
BUDGET_S=${BUDGET_S:-575}
R=$OUT/run6
mkdir -p "$R"
LOG="$R/log.txt"
source bench/device-lib.sh
device_header

log "== 1. SSD prefetch experiment (t=${SECONDS}s)"
for b in m2-ssd-bench m2-ssd-bench-np; do
  timeout "$(cap 60)" node "dist-bench/$b.mjs" --shapes 130m,2.7b --variants fused --runs 20 > "$R/$b.txt" 2>&1
  log "   $b rc $?"
  grep -E '^fused' "$R/$b.txt" | tee -a "$R/log.txt"
done

log "== 2. fixtures (t=${SECONDS}s)"
{
  timeout "$(cap 45)" node dist-bench/check-fixtures.mjs tests/fixtures/tiny-a tests/fixtures/tiny-b
  echo "check-fixtures rc $?"
  timeout "$(cap 60)" node dist-bench/check-mamba2.mjs tests/fixtures/m2-tiny-{a,b,c,d,e}
  echo "check-mamba2 rc $?"
  timeout "$(cap 60)" node dist-bench/check-batch.mjs tests/fixtures/tiny-a tests/fixtures/tiny-b
  echo "check-batch rc $?"
} > "$R/fixtures.txt" 2>&1
grep ' rc ' "$R/fixtures.txt" | tee -a "$R/log.txt"

log "== 3. GPU test project (t=${SECONDS}s)"
SOUP_CLI=dist-bench/soup.mjs timeout "$(cap 330)" node dist-bench/gpu-tests.mjs > "$R/gpu-tests.txt" 2>&1
log "   rc $?: $(grep -m1 'gpu tests:' "$R/gpu-tests.txt")"
grep '^FAIL' "$R/gpu-tests.txt" | head -20 | tee -a "$R/log.txt"
log "== done (t=${SECONDS}s)"
tar -cJf "$OUT/run6.tar.xz" -C "$OUT" run6
