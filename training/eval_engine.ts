/**
 * Cross-check of RESULTS.md through the app's own WebGPU engine (Dawn in Node; SwiftShader where there is no
 * GPU, which is slow: about 10 s per prompt for all three conditions). For the first N evaluation prompts of
 * each named task (training/results/eval_prompts.json) it measures greedy exact match for the 8-shot prompt,
 * the 2-shot prompt, and the mean of the four 2-shot states (SSM and conv state, per layer, averaged on the
 * host) continued with `query->`.
 *
 *   npx tsx training/eval_engine.ts [N=10] [TASK,...]   (default: the five named tasks)
 *
 * It also prints the 8-shot prompts it got wrong (query, expected, output).
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openNodeDevice } from '../src/engine/gpu/node.ts';
import { GpuMambaModel } from '../src/engine/model.ts';
import { parseMambaConfig } from '../src/model/config.ts';
import { SafetensorsFile } from '../src/model/safetensors.ts';
import { MambaTokenizer } from '../src/model/tokenizer.ts';
import { weightsFromSource, type MambaState } from '../src/engine/weights.ts';
import { safetensorsSource } from '../tests/helpers/fixtures.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const NAMED = ['antonym', 'uppercase', 'capital', 'plural', 'past'];
const n = Number(process.argv[2] ?? 10);
const tasks = process.argv[3] ? process.argv[3].split(',') : NAMED;

const manifest = JSON.parse(readFileSync(join(ROOT, 'public/models/manifest.json'), 'utf8')) as {
  default: string;
  models: { id: string; folder: string }[];
};
const folder = manifest.models.find((m) => m.id === manifest.default)?.folder ?? manifest.default;
const dir = join(ROOT, 'public/models', folder);
const config = parseMambaConfig(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')));
const file = new SafetensorsFile(new Uint8Array(readFileSync(join(dir, 'model.safetensors'))));
const weights = weightsFromSource(config, safetensorsSource(file));
const tok = MambaTokenizer.fromJSON(readFileSync(join(dir, 'tokenizer.json'), 'utf8'));
const newline = tok.encode('\n');
const prompts = (
  JSON.parse(readFileSync(join(ROOT, 'training/results/eval_prompts.json'), 'utf8')) as {
    prompts: { task: string; query: [string, string]; examples: [string, string][] }[];
  }
).prompts;

const lines = (ex: [string, string][]) => ex.map(([i, o]) => `${i}->${o}\n`).join('');

function mean(states: MambaState[]): MambaState {
  const k = states.length;
  return {
    layers: states[0]!.layers.map((_, l) => {
      const avg = (pick: (s: MambaState) => Float32Array) => {
        const out = new Float32Array(pick(states[0]!).length);
        for (const s of states) pick(s).forEach((v, i) => (out[i]! += v / k));
        return out;
      };
      return {
        ssm: avg((s) => s.layers[l]!.ssm),
        conv: avg((s) => s.layers[l]!.conv),
        dtSum: avg((s) => s.layers[l]!.dtSum),
      };
    }),
  };
}

const dev = await openNodeDevice();
const model = await GpuMambaModel.fromWeights(dev, weights, { dtype: 'f32' });
const answer = async (state: ReturnType<typeof model.createState>, text: string) => {
  const ids = await model.generate(state, tok.encode(text), { maxNewTokens: 12, stopTokens: newline });
  return tok.decode(ids).split('\n')[0];
};

const t0 = Date.now();
const totals = { shot8: 0, shot2: 0, soup: 0, count: 0 };
for (const task of tasks) {
  const acc = { shot8: 0, shot2: 0, soup: 0 };
  const wrong: string[] = [];
  const ps = prompts.filter((p) => p.task === task).slice(0, n);
  for (const p of ps) {
    const query = `${p.query[0]}->`;
    const zero = model.createState();
    const out8 = await answer(zero, lines(p.examples) + query);
    acc.shot8 += +(out8 === p.query[1]);
    if (out8 !== p.query[1]) wrong.push(`${p.query[0]}->${p.query[1]} (got ${JSON.stringify(out8)})`);
    acc.shot2 += +((await answer(zero, lines(p.examples.slice(0, 2)) + query)) === p.query[1]);
    const states: MambaState[] = [];
    for (let i = 0; i < 4; i++) {
      const s = model.createState();
      await model.prefill(s, tok.encode(lines(p.examples.slice(2 * i, 2 * i + 2))), { logits: 'none' });
      states.push(await model.readState(s));
      s.destroy();
    }
    const mixed = model.createState();
    model.writeState(mixed, mean(states));
    acc.soup += +((await answer(mixed, query)) === p.query[1]);
    mixed.destroy();
    zero.destroy();
  }
  totals.shot8 += acc.shot8;
  totals.shot2 += acc.shot2;
  totals.soup += acc.soup;
  totals.count += ps.length;
  console.log(
    `${task.padEnd(10)} n=${ps.length}  8-shot ${acc.shot8}/${ps.length}  2-shot ${acc.shot2}/${ps.length}  ` +
      `mean of four 2-shot states ${acc.soup}/${ps.length}  (${((Date.now() - t0) / 1000).toFixed(0)} s)`,
  );
  if (wrong.length) console.log(`  8-shot wrong: ${wrong.join(', ')}`);
}
const pct = (x: number) => `${((100 * x) / totals.count).toFixed(1)} %`;
console.log(
  `${tasks.join(', ')}: ${totals.count} prompts: 8-shot ${pct(totals.shot8)}, 2-shot ${pct(totals.shot2)}, ` +
    `mean of four 2-shot states ${pct(totals.soup)}`,
);
model.destroy();
process.exit(0);
