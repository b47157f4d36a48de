#!/usr/bin/env bash
# Packs what bench/session13_run2.sh needs on the GPU machine into dist-bench/all.tar.xz: session11_prepare.sh's
# bundles (the CLI, the GPU test project, check-mamba2, check-batch) and bench/gemv-sweep.ts. Move docs/screenshots
# out of the tree first (the device's 64 MiB cap), then call:
#   tar -xJf dist-bench/all.tar.xz -C dist-bench && source .device-kit/on-device.sh && OUT=$OUT bash bench/session13_run2.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash bench/session11_prepare.sh > /dev/null
npx esbuild bench/gemv-sweep.ts --bundle --platform=node --format=esm --external:webgpu \
  --outfile=dist-bench/gemv-sweep.mjs --log-level=warning
(cd dist-bench && tar -cJf all.tar.xz soup.mjs gpu-tests.mjs check-mamba2.mjs check-batch.mjs gemv-sweep.mjs)
ls -la dist-bench/all.tar.xz
