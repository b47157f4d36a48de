/**
 * Mixing states of two different tasks, through the app's WebGPU engine: for held-out nouns (the plural
 * task's evaluation queries) continue `noun->` from (1 - α)·S_A + α·S_B, where S_A and S_B are the states after
 * two examples of task A and of task B (examples from the evaluation prompts), and classify the greedy answer
 * as A's answer, B's answer, both composed (e.g. `ANTS` for uppercase + plural), or other.
 * Mixing is the paper's weighted sum of the whole state (SSM, conv, and dt sums), done on the host.
 *
 *   npx tsx training/cross_task.ts [N=50]
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
const n = Number(process.argv[2] ?? 50);
const ALPHAS = [0, 0.25, 0.5, 0.75, 1];

type Pair = [string, string];
const manifest = JSON.parse(readFileSync(join(ROOT, 'public/models/manifest.json'), 'utf8')) as {
  default: string;
  models: { id: string; folder: string }[];
};
const folder = manifest.models.find((m) => m.id === manifest.default)?.folder ?? manifest.default;
const dir = join(ROOT, 'public/models', folder);
const config = parseMambaConfig(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')));
const file = new SafetensorsFile(new Uint8Array(readFileSync(join(dir, 'model.safetensors'))));
const tok = MambaTokenizer.fromJSON(readFileSync(join(dir, 'tokenizer.json'), 'utf8'));
const newline = tok.encode('\n');
const prompts = (
  JSON.parse(readFileSync(join(ROOT, 'training/results/eval_prompts.json'), 'utf8')) as {
    prompts: { task: string; query: Pair; examples: Pair[] }[];
  }
).prompts;

/** Each experiment: two tasks and how to compose their answers for a noun. */
const EXPERIMENTS: {
  a: string;
  b: string;
  both: (noun: string, plural: string) => string;
  answer: Record<string, (noun: string, plural: string) => string>;
}[] = [
  {
    a: 'uppercase',
    b: 'plural',
    both: (_w, p) => p.toUpperCase(),
    answer: { uppercase: (w) => w.toUpperCase(), plural: (_w, p) => p },
  },
  {
    a: 'capitalize',
    b: 'plural',
    both: (_w, p) => p[0]!.toUpperCase() + p.slice(1),
    answer: { capitalize: (w) => w[0]!.toUpperCase() + w.slice(1), plural: (_w, p) => p },
  },
];

function weighted(a: MambaState, b: MambaState, alpha: number): MambaState {
  const mix = (x: Float32Array, y: Float32Array) => x.map((v, i) => (1 - alpha) * v + alpha * y[i]!);
  return {
    layers: a.layers.map((la, l) => {
      const lb = b.layers[l]!;
      return { ssm: mix(la.ssm, lb.ssm), conv: mix(la.conv, lb.conv), dtSum: mix(la.dtSum, lb.dtSum) };
    }),
  };
}

const lines = (ex: Pair[]) => ex.map(([i, o]) => `${i}->${o}\n`).join('');
const dev = await openNodeDevice();
const model = await GpuMambaModel.fromWeights(dev, weightsFromSource(config, safetensorsSource(file)), {
  dtype: 'f32',
});
async function stateAfter(text: string): Promise<MambaState> {
  const s = model.createState();
  await model.prefill(s, tok.encode(text), { logits: 'none' });
  const out = await model.readState(s);
  s.destroy();
  return out;
}

const queries = prompts.filter((p) => p.task === 'plural').slice(0, n);
for (const ex of EXPERIMENTS) {
  const exA = prompts.filter((p) => p.task === ex.a);
  const exB = prompts.filter((p) => p.task === ex.b);
  const counts = ALPHAS.map(() => ({ a: 0, b: 0, both: 0, other: 0 }));
  const samples: string[] = [];
  for (const [qi, q] of queries.entries()) {
    const [noun, plural] = q.query;
    // Two examples of each task, from evaluation prompts other than this query's.
    const sa = await stateAfter(lines(exA[(qi + 1) % exA.length]!.examples.slice(0, 2)));
    const sb = await stateAfter(lines(exB[(qi + 1) % exB.length]!.examples.slice(0, 2)));
    for (const [k, alpha] of ALPHAS.entries()) {
      const s = model.createState();
      model.writeState(s, weighted(sa, sb, alpha));
      const ids = await model.generate(s, tok.encode(`${noun}->`), { maxNewTokens: 12, stopTokens: newline });
      s.destroy();
      const out = tok.decode(ids).split('\n')[0]!;
      const c = counts[k]!;
      if (out === ex.both(noun, plural)) c.both++;
      else if (out === ex.answer[ex.a]!(noun, plural)) c.a++;
      else if (out === ex.answer[ex.b]!(noun, plural)) c.b++;
      else c.other++;
      if (qi < 3) samples.push(`α=${alpha} ${noun}->${out}`);
    }
  }
  console.log(`\n${ex.a} (α = 0) → ${ex.b} (α = 1), ${queries.length} held-out nouns:`);
  console.log('| α | ' + ex.a + ' | ' + ex.b + ' | both | other |');
  for (const [k, alpha] of ALPHAS.entries()) {
    const c = counts[k]!;
    console.log(`| ${alpha} | ${c.a} | ${c.b} | ${c.both} | ${c.other} |`);
  }
  console.log('samples: ' + samples.join(', '));
}
model.destroy();
process.exit(0);
