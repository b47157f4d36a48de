#!/usr/bin/env bash
# The four studies of docs/studies.md on the bundled model through the command line, printing each one's
# wall time (and saving its JSON under $OUT, default /tmp/studies). Run from the repository root:
#   bash bench/studies_h200.sh            # the configurations docs/studies.md reports
#   DTYPE=f16 bash bench/studies_h200.sh  # the checkpoint's own precision (the CLI default)
#   QUERIES=50 bash bench/studies_h200.sh # more queries (default 10; retrieval asks half as many per task)
#   SOUP_BUNDLE=dist-bench/soup.mjs bash bench/studies_h200.sh  # where node_modules does not travel (the GPU
#                                         # machine): the CLI bundled by scripts/bundle-node.mjs
# On the GPU machine this measures the H200 wall times; on SwiftShader it is what docs/studies.md ran.
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=${MODEL:-public/models/soup-mamba-4.6m}
DTYPE=${DTYPE:-f32}
OUT=${OUT:-/tmp/studies}
mkdir -p "$OUT"
if [[ -n ${SOUP_BUNDLE:-} ]]; then
  soup() { node "$SOUP_BUNDLE" "$@"; }
else
  node scripts/gen-shaders.mjs >/dev/null
  soup() { node_modules/.bin/tsx src/cli/main.ts "$@"; }
fi

run() {
  local name=$1
  shift
  local t0 t1
  t0=$(date +%s%N)
  soup study "$name" --model "$MODEL" --dtype "$DTYPE" --json "$@" >"$OUT/$name.json"
  t1=$(date +%s%N)
  printf "%-10s %8d ms  (%s)\n" "$name" $(((t1 - t0) / 1000000)) "$*"
}

echo "studies on $MODEL, dtype $DTYPE, results in $OUT"
Q=${QUERIES:-10}
run icl --tasks antonym,plural --shots 1,2,4 --states 4 --queries "$Q" --seed 1
run chunked --text-file docs/studies/genesis-1.txt --text-file docs/studies/harbour-report.txt \
  --chunks 2,4,8 --continuation 128 --seed 1
run retrieval --tasks antonym,uppercase,capital,plural,past --library-shots 4 --query-shots 1,2 \
  --queries "$(((Q + 1) / 2))" --seed 1
run switch --tasks uppercase,plural --alphas 0:1:11 --queries "$Q" --seed 1
