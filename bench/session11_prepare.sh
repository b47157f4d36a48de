#!/usr/bin/env bash
# Packs what bench/session11_run*.sh need on the GPU machine into dist-bench/all.tar.xz: this checkout's CLI, GPU
# test project, check-mamba2 and check-batch bundles. With docs/screenshots moved out of the tree (the device's
# 64 MiB cap), the device call is:
#   tar -xJf dist-bench/all.tar.xz -C dist-bench && source .device-kit/on-device.sh && OUT=$OUT bash bench/session11_run1.sh
set -euo pipefail
cd "$(dirname "$0")/.."
node scripts/gen-shaders.mjs > /dev/null
node scripts/bundle-node.mjs
node scripts/bundle-gpu-tests.mjs
bash bench/bundle-check.sh check-mamba2
bash bench/bundle-check.sh check-batch
(cd dist-bench && tar -cJf all.tar.xz soup.mjs gpu-tests.mjs check-mamba2.mjs check-batch.mjs)
ls -la dist-bench/all.tar.xz
