/**
 * Do the Mamba-2 fixtures match on this machine's adapter? The checks of tests/engine.mamba2.test.ts as a script
 * that runs where Vitest does not travel (the GPU machine): for each m2-* fixture folder, every sequence's logits
 * within 1e-3 (max |diff| / max(1, max |want|)) and its greedy continuation exactly, once through the chunked SSD
 * scan and once token by token through the step kernel (src/engine/mamba2Gpu.ts, f32 weights). With --time it
 * also times a 512-token prefill and decode at mamba2-130m's shape on random weights. Prints one line per check
 * and exits 1 when any fails.
 *
 *   npx esbuild bench/check-mamba2.ts --bundle --platform=node --format=esm --external:webgpu \
 *     --outfile=dist-bench/check-mamba2.mjs --banner:js="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);"
 *   node dist-bench/check-mamba2.mjs tests/fixtures/m2-tiny-a tests/fixtures/m2-tiny-b tests/fixtures/m2-tiny-c [--time]
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openNodeDevice } from '../src/engine/gpu/node.ts';
import { GpuMamba2Model, type Mamba2ScanMode } from '../src/engine/mamba2Gpu.ts';
import { mamba2WeightsFromSource, type Mamba2Weights } from '../src/engine/mamba2Weights.ts';
import { parseMamba2Config, parseMamba2ConfigText } from '../src/model/mamba2Config.ts';
import { SafetensorsFile } from '../src/model/safetensors.ts';
import { argmaxAt, relMaxDiff } from './compare.ts';

const args = process.argv.slice(2);
const dirs = args.filter((a) => !a.startsWith('--'));
if (dirs.length === 0) throw new Error('usage: check-mamba2.mjs FIXTURE_DIR [FIXTURE_DIR ...] [--time]');

const dev = await openNodeDevice();
console.log(`adapter ${JSON.stringify(dev.adapterInfo)} software=${dev.isSoftware}`);
let failed = 0;
for (const dir of dirs) {
  const config = parseMamba2ConfigText(readFileSync(join(dir, 'config.json'), 'utf8'));
  const file = new SafetensorsFile(new Uint8Array(readFileSync(join(dir, 'model.safetensors'))));
  const expected = new SafetensorsFile(new Uint8Array(readFileSync(join(dir, 'expected.safetensors'))));
  const weights = mamba2WeightsFromSource(config, {
    has: (n) => file.has(n),
    shape: (n) => file.info(n).shape,
    float32: (n) => file.float32(n),
  });
  const model = new GpuMamba2Model(dev, weights);
  const V = config.vocabSize;
  const seqs = expected.names.filter((n) => n.endsWith('.greedy')).map((n) => n.slice(0, -'.greedy'.length));
  for (const seq of seqs) {
    for (const mode of ['chunked', 'step'] as Mamba2ScanMode[]) {
      model.writeState();
      const tokens = expected.int32(`${seq}.tokens`);
      let logits: Float32Array;
      if (mode === 'chunked') logits = await model.forward(tokens, 'chunked');
      else {
        const rows: number[] = [];
        for (const t of tokens) rows.push(...(await model.forward([t], 'step')));
        logits = Float32Array.from(rows);
      }
      const greedy = [argmaxAt(logits, logits.length - V, V)];
      while (greedy.length < 24) greedy.push(argmaxAt(await model.forward([greedy.at(-1)!], 'step'), 0, V));
      const err = relMaxDiff(logits, expected.float32(`${seq}.logits`));
      const exact = greedy.every((v, i) => v === expected.int32(`${seq}.greedy`)[i]);
      const ok = err < 1e-3 && exact;
      if (!ok) failed++;
      console.log(
        `${ok ? 'ok  ' : 'FAIL'} ${dir} ${seq} ${mode}: logits ${err.toExponential(2)}, greedy ${exact ? 'exact' : 'differs'}`,
      );
    }
  }
  model.destroy();
}

if (args.includes('--time')) {
  // mamba2-130m's shape with random weights: every matrix goes through gemm_reg, so this is a baseline, not the
  // engine's eventual speed.
  const c = parseMamba2Config({
    model_type: 'mamba2',
    vocab_size: 50288,
    hidden_size: 768,
    num_hidden_layers: 24,
    num_heads: 24,
    head_dim: 64,
    n_groups: 1,
    state_size: 128,
    tie_word_embeddings: true,
  });
  let seed = 1;
  const rnd = (n: number, s: number, base = 0) =>
    Float32Array.from({ length: n }, () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return base + ((seed / 2 ** 32) * 2 - 1) * s;
    });
  const dm = c.hiddenSize;
  const di = c.intermediateSize;
  const weights: Mamba2Weights = {
    config: c,
    embedding: rnd(c.vocabSize * dm, 0.5),
    normF: rnd(dm, 0.3, 1),
    layers: Array.from({ length: c.numLayers }, () => ({
      norm: rnd(dm, 0.3, 1),
      inProj: rnd(c.inProjSize * dm, 0.03),
      convWeight: rnd(c.convDim * c.convKernel, 0.5),
      convBias: rnd(c.convDim, 0.5),
      dtBias: rnd(c.numHeads, 1, -3),
      aLog: rnd(c.numHeads, 1),
      d: rnd(c.numHeads, 1),
      gateNorm: rnd(di, 0.3, 1),
      outProj: rnd(dm * di, 0.02),
    })),
  };
  const T = 512;
  const model = new GpuMamba2Model(dev, weights, T);
  const tokens = Array.from({ length: T }, (_, i) => (i * 7919) % c.vocabSize);
  for (const mode of ['chunked', 'step'] as Mamba2ScanMode[]) {
    for (let rep = 0; rep < 3; rep++) {
      model.writeState();
      const t0 = performance.now();
      await model.forward(tokens, mode);
      const ms = performance.now() - t0;
      console.log(
        `130m shape, prefill ${T} (${mode} scan): ${ms.toFixed(1)} ms, ${((T / ms) * 1000).toFixed(0)} tok/s`,
      );
    }
  }
  const t0 = performance.now();
  for (let i = 0; i < 32; i++) await model.forward([i], 'step');
  console.log(
    `130m shape, decode with logits read back: ${((performance.now() - t0) / 32).toFixed(2)} ms/token`,
  );
  model.destroy();
}
process.exit(failed > 0 ? 1 : 0);
