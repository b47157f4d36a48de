#!/usr/bin/env bash
# Packs what bench/session15_run*.sh need on the GPU machine into dist-bench/all.tar.xz: session11_prepare.sh's
# bundles (the CLI, the GPU test project, check-mamba2, check-batch) and bench/m2-ssd-bench.ts. Move
# docs/screenshots out of the tree first (the device's 64 MiB cap), then call:
#   tar -xJf dist-bench/all.tar.xz -C dist-bench && source .device-kit/on-device.sh && OUT=$OUT bash bench/session15_run1.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash bench/session11_prepare.sh > /dev/null
bash bench/bundle-check.sh m2-ssd-bench > /dev/null
(cd dist-bench && tar -cJf all.tar.xz soup.mjs gpu-tests.mjs check-mamba2.mjs check-batch.mjs m2-ssd-bench.mjs)
ls -la dist-bench/all.tar.xz
