/**
 * What the prefill GEMMs' arithmetic costs in accuracy, measured on the CPU with the float64 reference
 * (src/engine/reference/mamba.ts) whose in_proj, x_proj, out_proj and LM head products are replaced by a model
 * of each kernel's arithmetic (dt_proj stays exact, as in the engine):
 *   - f32:  exact products of the checkpoint's weights (the F32 engine path);
 *   - f16:  f16 weights, f32 activations (today's f16 path: gemm_tiled unpacks f16 weights, sums in f32);
 *   - f16in: f16 weights and activations rounded to f16 at each GEMM's input (gemm_sgmat_f16 on subgroup
 *     matrices: products of f16 values summed in f32, modelled here as exact sums);
 *   - w8a8: int8 weights per output channel, int8 activations per token (gemm_sgmat_i8, i32 sums, exact).
 * On the transformers fixtures (tests/fixtures, tiny random models): the fixtures' measure max |diff| /
 * max(1, max |logit|) against transformers' logits, argmax agreement over every position, and whether the
 * 24-token greedy continuation matches transformers'. On the bundled trained model (public/models): perplexity
 * of the held-out pairs of tasks.json (one `input->output` line each, PER_TASK per task, one text per task) and
 * argmax agreement with f32 over every position. No real pretrained checkpoint can be fetched here, so this says
 * nothing of outlier activations in large trained models, where per-token int8 activations are known to hurt.
 *
 *   npx tsx bench/gemm-accuracy.ts [--per-task 40]
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseMambaConfig } from '../src/model/config.ts';
import { bundledModelDir } from '../src/model/node.ts';
import { f16ToF32, f32ToF16, SafetensorsFile } from '../src/model/safetensors.ts';
import { MambaTokenizer } from '../src/model/tokenizer.ts';
import { weightsAsHeld } from '../src/engine/gpu/weightMatrix.ts';
import { matVec, referenceForward, type GemmFn } from '../src/engine/reference/mamba.ts';
import { quantizeRowsI8, type QuantizedRows } from '../src/engine/w8a8.ts';
import { weightsFromSource, type MambaWeights } from '../src/engine/weights.ts';
import { argmaxAt, argmaxRows, relMaxDiff } from './compare.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? dflt) : dflt;
};
const PER_TASK = Number(arg('per-task', '40'));

const roundF16 = (v: number) => f16ToF32(f32ToF16(v));

/** gemm_sgmat_f16's arithmetic: the input rounded to f16 (the weights are f16 already). */
const f16Inputs: GemmFn = (w, x, out, inn, b) => matVec(w, Array.from(x, roundF16), out, inn, b);

/** gemm_sgmat_i8's arithmetic: per-channel int8 weights (quantised once per matrix), per-token int8 input. */
function w8a8(): GemmFn {
  const cache = new WeakMap<object, QuantizedRows>();
  return (w, x, out, inn, b) => {
    let q = cache.get(w as object);
    if (!q) {
      q = quantizeRowsI8(w, out, inn);
      cache.set(w as object, q);
    }
    const xq = quantizeRowsI8(x, 1, inn);
    const y = new Float64Array(out);
    for (let o = 0; o < out; o++) {
      let acc = 0;
      for (let i = 0; i < inn; i++) acc += q.q[o * inn + i]! * xq.q[i]!;
      y[o] = acc * xq.scale[0]! * q.scale[o]! + (b ? b[o]! : 0);
    }
    return y;
  };
}

interface Variant {
  name: string;
  weights: (w: MambaWeights) => MambaWeights;
  gemm: () => GemmFn;
}
const VARIANTS: Variant[] = [
  { name: 'f32', weights: (w) => w, gemm: () => matVec },
  { name: 'f16', weights: (w) => weightsAsHeld(w, 'f16'), gemm: () => matVec },
  { name: 'f16in', weights: (w) => weightsAsHeld(w, 'f16'), gemm: () => f16Inputs },
  { name: 'w8a8', weights: (w) => w, gemm: w8a8 },
];

function loadFolder(dir: string): { weights: MambaWeights; file: (n: string) => SafetensorsFile } {
  const config = parseMambaConfig(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')));
  const model = new SafetensorsFile(new Uint8Array(readFileSync(join(dir, 'model.safetensors'))));
  const weights = weightsFromSource(config, {
    has: (n) => model.has(n),
    shape: (n) => model.info(n).shape,
    float32: (n) => model.float32(n),
  });
  return { weights, file: (n) => new SafetensorsFile(new Uint8Array(readFileSync(join(dir, n))), n) };
}

console.log('## Fixtures (transformers logits), per arithmetic\n');
console.log('| fixture | sequence | arithmetic | rel. max diff | argmax agree | greedy 24 |');
console.log('| --- | --- | --- | ---: | ---: | --- |');
for (const name of ['tiny-a', 'tiny-b']) {
  const { weights, file } = loadFolder(join(ROOT, 'tests/fixtures', name));
  const expected = file('expected.safetensors');
  const V = weights.config.vocabSize;
  const seqs = expected.names.filter((n) => n.endsWith('.tokens')).map((n) => n.slice(0, -'.tokens'.length));
  for (const seq of seqs) {
    const tokens = Array.from(expected.int32(`${seq}.tokens`));
    const want = expected.float32(`${seq}.logits`);
    const greedyWant = expected.has(`${seq}.greedy`) ? Array.from(expected.int32(`${seq}.greedy`)) : [];
    for (const v of VARIANTS) {
      const w = v.weights(weights);
      const gemm = v.gemm();
      const r = referenceForward(w, tokens, undefined, gemm);
      const got = argmaxRows(r.logits, V);
      const ref = argmaxRows(want, V);
      const agree = got.filter((a, i) => a === ref[i]).length;
      const greedy: number[] = [];
      let state = r.state;
      let next = argmaxAt(r.logits, (tokens.length - 1) * V, V);
      for (let i = 0; i < greedyWant.length; i++) {
        greedy.push(next);
        const step = referenceForward(w, [next], state, gemm);
        state = step.state;
        next = argmaxAt(step.logits, 0, V);
      }
      const greedyOk =
        greedyWant.length === 0 ? 'n/a' : greedy.every((t, i) => t === greedyWant[i]) ? 'same' : 'differs';
      console.log(
        `| ${name} | ${seq} (${tokens.length}) | ${v.name} | ${relMaxDiff(r.logits, want).toExponential(2)} | ` +
          `${agree}/${tokens.length} | ${greedyOk} |`,
      );
    }
  }
}

console.log(`\n## Bundled model (public/models), held-out pairs, ${PER_TASK} per task\n`);
const dir = bundledModelDir(join(ROOT, 'public/models'));
const { weights } = loadFolder(dir);
const tok = MambaTokenizer.fromJSON(JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8')));
const tasks = (
  JSON.parse(readFileSync(join(dir, 'tasks.json'), 'utf8')) as {
    tasks: { name: string; heldout: [string, string][] }[];
  }
).tasks;
const texts = tasks.map((t) => ({
  task: t.name,
  ids: tok.encode(
    t.heldout
      .slice(0, PER_TASK)
      .map(([i, o]) => `${i}->${o}\n`)
      .join(''),
  ),
}));
const V = weights.config.vocabSize;
console.log('| arithmetic | perplexity | change vs f32 | argmax agree with f32 | tokens |');
console.log('| --- | ---: | ---: | ---: | ---: |');
let basePpl = 0;
const baseArgmax: number[][] = [];
for (const v of VARIANTS) {
  const w = v.weights(weights);
  const gemm = v.gemm();
  let nll = 0;
  let count = 0;
  let agree = 0;
  texts.forEach((t, ti) => {
    const r = referenceForward(w, t.ids, undefined, gemm);
    const am = argmaxRows(r.logits, V);
    if (v.name === 'f32') baseArgmax[ti] = am;
    agree += am.filter((a, i) => a === baseArgmax[ti]![i]).length;
    for (let i = 0; i + 1 < t.ids.length; i++) {
      const row = r.logits.subarray(i * V, (i + 1) * V);
      let m = -Infinity;
      for (const x of row) m = Math.max(m, x);
      let s = 0;
      for (const x of row) s += Math.exp(x - m);
      nll += m + Math.log(s) - row[t.ids[i + 1]!]!;
      count++;
    }
  });
  const ppl = Math.exp(nll / count);
  if (v.name === 'f32') basePpl = ppl;
  const total = texts.reduce((a, t) => a + t.ids.length, 0);
  console.log(
    `| ${v.name} | ${ppl.toFixed(4)} | ${(100 * (ppl / basePpl - 1)).toFixed(3)} % | ${agree}/${total} | ${count} |`,
  );
}
