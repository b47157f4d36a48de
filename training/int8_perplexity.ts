/**
 * int8 weights against f16 and f32 on the bundled model's held-out texts (training/heldout.ts: the held-out
 * pairs of every task; the Brown/KJV documents are not in the repository), through the app's WebGPU engine.
 * The bundled model is the only trained Mamba here: no real pretrained checkpoint (state-spaces/mamba-*) can
 * be fetched on this machine, so these figures say nothing yet about int8 on those.
 *
 *   npx tsx training/int8_perplexity.ts [PAIRS_PER_TASK=all] [VARIANT,...]
 *
 * Variants: f32, f16, int8 (per-channel scales, every large matrix), int8-g128, int8-g64, int8-g32 (group-wise
 * scales along K), int8-emb-f16 (embedding/LM head kept in f16), int8-xproj-f16 (x_proj kept in f16).
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openNodeDevice } from '../src/engine/gpu/node.ts';
import { GpuMambaModel, type EngineOptions } from '../src/engine/model.ts';
import { weightsFromSource } from '../src/engine/weights.ts';
import { parseMambaConfig } from '../src/model/config.ts';
import { bundledModelDir } from '../src/model/node.ts';
import { SafetensorsFile } from '../src/model/safetensors.ts';
import { MambaTokenizer } from '../src/model/tokenizer.ts';
import { heldoutPerplexity, heldoutTexts } from './heldout.ts';

const VARIANTS: Record<string, EngineOptions> = {
  f32: { dtype: 'f32' },
  f16: { dtype: 'f16' },
  int8: { dtype: 'int8' },
  'int8-g128': { dtype: 'int8', int8: { group: 128 } },
  'int8-g64': { dtype: 'int8', int8: { group: 64 } },
  'int8-g32': { dtype: 'int8', int8: { group: 32 } },
  'int8-emb-f16': { dtype: 'int8', int8: { embedding: false } },
  'int8-xproj-f16': { dtype: 'int8', int8: { xProj: false } },
};

const perTask = process.argv[2] && process.argv[2] !== 'all' ? Number(process.argv[2]) : undefined;
const names = process.argv[3] ? process.argv[3].split(',') : ['f32', 'f16', 'int8'];
for (const n of names)
  if (!VARIANTS[n]) throw new Error(`Unknown variant ${n}; choose from ${Object.keys(VARIANTS).join(', ')}.`);

// From training/ or, bundled (bench/int8_run.sh), from dist-bench/: the repository root is one level up.
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dir = bundledModelDir(join(root, 'public/models'));
const config = parseMambaConfig(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')));
const st = new SafetensorsFile(
  new Uint8Array(readFileSync(join(dir, 'model.safetensors'))),
  'model.safetensors',
);
const weights = weightsFromSource(config, {
  has: (n) => st.has(n),
  shape: (n) => st.info(n).shape,
  float32: (n) => st.float32(n),
});
const tok = MambaTokenizer.fromJSON(readFileSync(join(dir, 'tokenizer.json'), 'utf8'));
const texts = heldoutTexts(dir, tok, perTask);
const dev = await openNodeDevice();
console.log(
  `bundled model ${dir}, held-out pairs per task: ${perTask ?? 'all'}, adapter ${dev.adapterInfo.description || dev.adapterInfo.vendor}`,
);
const base: Record<string, number> = {};
for (const name of names) {
  const t0 = performance.now();
  const m = await GpuMambaModel.fromWeights(dev, weights, VARIANTS[name]!);
  const r = await heldoutPerplexity(m, texts);
  m.destroy();
  base[name] = r.perplexity;
  const vs = ['f16', 'f32']
    .filter((b) => b !== name && base[b] !== undefined)
    .map((b) => `${(100 * (r.perplexity / base[b]! - 1)).toFixed(3)} % vs ${b}`)
    .join(', ');
  const tasks = Object.entries(r.byTask)
    .map(([k, v]) => `${k} ${v.toFixed(3)}`)
    .join(', ');
  console.log(
    `${name.padEnd(15)} perplexity ${r.perplexity.toFixed(4)} over ${r.tokens} tokens${vs ? ` (${vs})` : ''}` +
      `  [${((performance.now() - t0) / 1000).toFixed(0)} s]\n    ${tasks}`,
  );
}
console.log('No real pretrained checkpoint can be fetched here: these are the bundled 4.6 M model only.');
process.exit(0);
