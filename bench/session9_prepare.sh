#!/usr/bin/env bash
# Packs what bench/session9_run1.sh needs on the GPU machine into dist-bench/all.tar.xz: this checkout's CLI,
# GPU test project, m2-ssd-bench and check-mamba2 bundles, and the CLI bundled at the two commits the run
# compares against (6fbd13b, session 8's start, as soup-before.mjs; b357829, before in_proj's split, as
# soup-nosplit.mjs; ae5a79b, session 10's start, as soup-start.mjs), each built in a throwaway worktree. Then, with docs/screenshots moved out of the tree (the
# device's 64 MiB cap), the device call is:
#   tar -xJf dist-bench/all.tar.xz -C dist-bench && source .device-kit/on-device.sh && OUT=$OUT bash bench/session9_run1.sh
set -euo pipefail
cd "$(dirname "$0")/.."
node scripts/bundle-node.mjs
node scripts/bundle-gpu-tests.mjs
bash bench/bundle-check.sh m2-ssd-bench
bash bench/bundle-check.sh check-mamba2
bash bench/bundle-check.sh check-batch
for pair in 6fbd13b:soup-before b357829:soup-nosplit ae5a79b:soup-start; do
  commit=${pair%%:*}
  name=${pair##*:}
  at=$(mktemp -d)
  git worktree add -q --detach "$at" "$commit"
  ln -s "$PWD/node_modules" "$at/node_modules"
  (cd "$at" && node scripts/gen-shaders.mjs >/dev/null && node scripts/bundle-node.mjs)
  cp "$at/dist-bench/soup.mjs" "dist-bench/$name.mjs"
  git worktree remove --force "$at"
done
(cd dist-bench && tar -cJf all.tar.xz soup.mjs soup-before.mjs soup-nosplit.mjs soup-start.mjs gpu-tests.mjs m2-ssd-bench.mjs check-mamba2.mjs check-batch.mjs)
ls -la dist-bench/all.tar.xz
