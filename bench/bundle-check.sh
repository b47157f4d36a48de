#!/usr/bin/env bash
# Bundles bench/check-random.ts into dist-bench/check-random.mjs (every dependency inside but Dawn's `webgpu`),
# so it runs on the GPU machine where node_modules does not travel.
set -euo pipefail
cd "$(dirname "$0")/.."
node scripts/gen-shaders.mjs
npx esbuild bench/check-random.ts --bundle --platform=node --format=esm --target=node20 --external:webgpu \
  --outfile=dist-bench/check-random.mjs --log-level=warning \
  "--banner:js=import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);"
echo "bundled dist-bench/check-random.mjs"
