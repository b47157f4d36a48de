// Builds src/engine/shaders.gen.ts from shaders/*.wgsl (see scripts/shaders/build.ts): each kernel family
// expanded into its variants, with every kernel's binding table and struct layouts, so the same engine code
// gets its kernels as strings in Vite (page, Worker), in Vitest and in plain Node (tsx), without a
// bundler-specific `?raw` import. The build code is TypeScript, loaded through tsx (a dev dependency).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

const unregister = register();
const { buildKernels, renderModule } = await import('./shaders/build.ts');
await unregister();

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = renderModule(buildKernels(join(root, 'shaders')));
const target = join(root, 'src/engine/shaders.gen.ts');
if (!existsSync(target) || readFileSync(target, 'utf8') !== out) writeFileSync(target, out);
