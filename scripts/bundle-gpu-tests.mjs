// Bundles every test file of Vitest's `gpu` project (GPU_TESTS in vitest.config.ts) into one file,
// dist-bench/gpu-tests.mjs, with `vitest` resolved to tests/device/vitest-shim.ts, so the GPU tests run on
// the GPU machine, where node_modules does not travel (only Dawn's `webgpu`, from the device kit):
//   node dist-bench/gpu-tests.mjs [name-filter ...]
// prints one line per test (PASS/FAIL/SKIP) and a summary, and exits 1 if any test failed.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const config = readFileSync(join(root, 'vitest.config.ts'), 'utf8');
const list = /GPU_TESTS = \[([\s\S]*?)\]/.exec(config);
if (!list) throw new Error('vitest.config.ts: GPU_TESTS not found');
const files = [...list[1].matchAll(/'([^']+)'/g)].map((m) => m[1]);
const timeout = Number(/testTimeout:\s*([\d_]+)/.exec(config)?.[1].replace(/_/g, '') ?? 120_000);

const shim = join(root, 'tests/device/vitest-shim.ts');
const entry = `
import { collect, run } from ${JSON.stringify(shim)};
const files = [
${files.map((f) => `  [${JSON.stringify(f)}, () => import(${JSON.stringify(join(root, f))})],`).join('\n')}
];
const only = process.argv.slice(2);
const counts = { pass: 0, fail: 0, skip: 0 };
const failed = [];
const t0 = performance.now();
for (const [file, load] of files) {
  if (only.length && !only.some((o) => file.includes(o))) continue;
  let suite;
  try {
    suite = await collect(file, load);
  } catch (e) {
    counts.fail++;
    failed.push(file + ' (load)');
    console.log('FAIL ' + file + ' (could not load): ' + (e?.stack ?? e));
    continue;
  }
  await run(suite, ${timeout}, (o) => {
    const tag = o.ok === 'skipped' ? 'SKIP' : o.ok ? 'PASS' : 'FAIL';
    counts[o.ok === 'skipped' ? 'skip' : o.ok ? 'pass' : 'fail']++;
    if (!o.ok) failed.push(o.name);
    console.log(tag + ' ' + o.name + ' (' + o.ms.toFixed(0) + ' ms)' + (o.error ? '\\n    ' + o.error.replace(/\\n/g, '\\n    ') : ''));
  });
}
console.log('gpu tests: ' + counts.pass + ' passed, ' + counts.fail + ' failed, ' + counts.skip + ' skipped in ' +
  ((performance.now() - t0) / 1000).toFixed(1) + ' s');
for (const f of failed) console.log('  failed: ' + f);
process.exit(counts.fail ? 1 : 0);
`;
mkdirSync(join(root, 'dist-bench'), { recursive: true });
const entryFile = join(root, 'dist-bench/gpu-tests.entry.mjs');
writeFileSync(entryFile, entry);
// Files find their data relative to themselves (import.meta.url/dirname); in one bundle every module would
// see the bundle's own location, so each source file's import.meta is rewritten to the file's place in the
// tree, relative to the bundle (dist-bench/ sits in the repository root, here and on the GPU machine).
const selfLocated = {
  name: 'self-located',
  setup(b) {
    b.onLoad({ filter: /\.(ts|tsx|mjs|js)$/ }, (args) => {
      if (!args.path.startsWith(root + '/') || args.path.includes('/node_modules/')) return undefined;
      const text = readFileSync(args.path, 'utf8');
      if (!text.includes('import.meta')) return undefined;
      const rel = JSON.stringify('../' + relative(root, args.path));
      const url = `new URL(${rel}, import.meta.url).href`;
      // One pass: replacing dirname first and then url would rewrite the url inside the dirname's replacement
      // too, resolving the path against itself (right by chance one folder below the root, wrong deeper, as
      // for tests/helpers/).
      const by = {
        dirname: `__gpuTestsDirname(__gpuTestsPath(${url}))`,
        filename: `__gpuTestsPath(${url})`,
        url,
      };
      const contents = text.replace(/import\.meta\.(dirname|filename|url)\b/g, (_, k) => by[k]);
      return { contents, loader: args.path.endsWith('x') ? 'tsx' : args.path.split('.').pop() };
    });
  },
};
await build({
  plugins: [selfLocated],
  entryPoints: [entryFile],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['webgpu'],
  alias: { vitest: shim },
  outfile: join(root, 'dist-bench/gpu-tests.mjs'),
  logLevel: 'warning',
  banner: {
    js: [
      "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
      "import { fileURLToPath as __gpuTestsPath } from 'node:url'; import { dirname as __gpuTestsDirname } from 'node:path';",
    ].join('\n'),
  },
});
console.log(`bundled dist-bench/gpu-tests.mjs (${files.length} files)`);
