#!/usr/bin/env bash
# Every check the project has, in the order that fails fastest: format, lint, types, unit tests, kernel tests
# (Node + Dawn on a real adapter), the build, then end-to-end tests in real Chromium against the built app.
set -euo pipefail
cd "$(dirname "$0")/.."
node scripts/gen-shaders.mjs
echo "== format"; npx prettier --check . --log-level warn
echo "== lint"; npx eslint . --max-warnings 0
echo "== types (one project per environment)"; npx tsc -b
echo "== unit tests (no GPU)"; npx vitest run --project unit
echo "== kernel and engine tests (real adapter through Dawn)"; npx vitest run --project gpu
echo "== benchmark (software WebGPU: figures for the log, no timed assertions)"
bench_model=$(node -e "const m = require('./public/models/manifest.json'); console.log('public/models/' + m.default)" 2>/dev/null || true)
[[ -n $bench_model && -f $bench_model/config.json ]] || bench_model=tests/fixtures/tiny-b
npx tsx src/cli/main.ts bench --model "$bench_model" --quick
echo "== build"; npx vite build --logLevel warn
echo "== end-to-end"; npx playwright test
