// Bundles the command line (src/cli/main.ts) into one ES module, dist-bench/soup.mjs, with every JavaScript
// dependency inside except `webgpu` (Dawn, a native addon the GPU machine's kit provides), so `soup bench`
// runs where node_modules does not travel: `node dist-bench/soup.mjs bench --model random:130m`.
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
execFileSync(process.execPath, [join(root, 'scripts/gen-shaders.mjs')], { stdio: 'inherit' });
await build({
  entryPoints: [join(root, 'src/cli/main.ts')],
  outfile: join(root, 'dist-bench/soup.mjs'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['webgpu'],
  // CommonJS dependencies inside an ES module bundle still call require().
  banner: {
    js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
  },
  logLevel: 'warning',
});
console.log('bundled dist-bench/soup.mjs');
