#!/usr/bin/env bash
# Bundles bench/<NAME>.ts (default check-random) into dist-bench/<NAME>.mjs (every dependency inside but Dawn's
# `webgpu`), so it runs on the GPU machine where node_modules does not travel:
#   bash bench/bundle-check.sh              # dist-bench/check-random.mjs
#   bash bench/bundle-check.sh check-f16    # dist-bench/check-f16.mjs
#   bash bench/bundle-check.sh m2-ssd-bench # dist-bench/m2-ssd-bench.mjs (Mamba-2's SSD passes, old vs tiled)
set -euo pipefail
cd "$(dirname "$0")/.."
name=${1:-check-random}
[[ -f bench/$name.ts ]] || { echo "bench/$name.ts does not exist" >&2; exit 1; }
node scripts/gen-shaders.mjs
npx esbuild "bench/$name.ts" --bundle --platform=node --format=esm --target=node20 --external:webgpu \
  "--outfile=dist-bench/$name.mjs" --log-level=warning \
  "--banner:js=import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);"
echo "bundled dist-bench/$name.mjs"
