/**
 * The conv, scan, RMSNorm and embedding kernels (and the whole forward pass) on random small models of
 * awkward shapes against the float64 CPU reference: d_state 8 and 16, d_conv 3 and 4, d_inner not a multiple
 * of the workgroup size, biases on and off, tied and untied heads; lengths 1, off the chunk size, and 300+;
 * both kernel variants. Also seeded sampling through generate() and the top-N report.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openNodeDevice } from '../src/engine/gpu/node.ts';
import type { EngineDevice } from '../src/engine/gpu/device.ts';
import type { MambaConfig } from '../src/model/config.ts';
import { GpuMambaModel, type KernelVariant } from '../src/engine/model.ts';
import { referenceForward } from '../src/engine/reference/mamba.ts';
import type { MambaWeights } from '../src/engine/weights.ts';
import { relMaxDiff } from './helpers/fixtures.ts';
import { argmaxRows, rng, withScope } from './helpers/gpu.ts';

function randomModel(c: MambaConfig, seed: number): MambaWeights {
  const next = rng(seed);
  const u = (n: number, scale: number) => Float32Array.from({ length: n }, () => (next() * 2 - 1) * scale);
  const { hiddenSize: dm, intermediateSize: di, stateSize: ds, convKernel: dc, timeStepRank: r } = c;
  return {
    config: c,
    embedding: u(c.vocabSize * dm, 1),
    normF: u(dm, 0.5).map((v) => 1 + v),
    lmHead: c.tieWordEmbeddings ? undefined : u(c.vocabSize * dm, 0.5),
    layers: Array.from({ length: c.numLayers }, () => ({
      norm: u(dm, 0.3).map((v) => 1 + v),
      inProj: u(2 * di * dm, 1 / Math.sqrt(dm)),
      inProjBias: c.useBias ? u(2 * di, 0.1) : undefined,
      convWeight: u(di * dc, 0.5),
      convBias: c.useConvBias ? u(di, 0.1) : undefined,
      xProj: u((r + 2 * ds) * di, 1 / Math.sqrt(di)),
      dtProj: u(di * r, 1 / Math.sqrt(r)),
      dtBias: u(di, 1).map((v) => v - 2),
      aLog: Float32Array.from({ length: di * ds }, (_, i) => Math.log(1 + (i % ds))),
      d: u(di, 1),
      outProj: u(dm * di, 1 / Math.sqrt(di)),
      outProjBias: c.useBias ? u(dm, 0.1) : undefined,
    })),
  };
}

const base = { layerNormEpsilon: 1e-5, numLayers: 2 };
const configs: Record<string, MambaConfig> = {
  'd_state 8, d_conv 3, biases, untied, d_inner 72': {
    ...base,
    vocabSize: 100,
    hiddenSize: 40,
    intermediateSize: 72,
    stateSize: 8,
    convKernel: 3,
    timeStepRank: 5,
    useBias: true,
    useConvBias: false,
    tieWordEmbeddings: false,
  },
  'd_state 16, d_conv 4, no biases, tied, d_inner 64': {
    ...base,
    vocabSize: 77,
    hiddenSize: 32,
    intermediateSize: 64,
    stateSize: 16,
    convKernel: 4,
    timeStepRank: 2,
    useBias: false,
    useConvBias: true,
    tieWordEmbeddings: true,
  },
};

let dev: EngineDevice;
beforeAll(async () => {
  dev = await openNodeDevice();
});

const tokensFor = (n: number, V: number, seed: number) => {
  const next = rng(seed);
  return Array.from({ length: n }, () => Math.floor(next() * V));
};

for (const [name, config] of Object.entries(configs)) {
  const weights = randomModel(config, 3);
  for (const variant of ['software', 'hardware'] as KernelVariant[]) {
    describe(`${name} (${variant})`, () => {
      let m: GpuMambaModel;
      beforeAll(async () => {
        m = await GpuMambaModel.fromWeights(dev, weights, { dtype: 'f32', variant, chunkSize: 32 });
      });
      afterAll(() => m?.destroy());

      // 303 tokens = 9 full chunks of 32 and a partial one; the cooperative variant is slow on SwiftShader.
      const lengths = variant === 'software' ? [1, 37, 303] : [1, 37];
      it(`prefill logits and states equal the CPU reference at lengths ${lengths.join(', ')}`, async () => {
        await withScope(dev.device, async () => {
          for (const L of lengths) {
            const tokens = tokensFor(L, config.vocabSize, L);
            const ref = referenceForward(weights, tokens);
            const s = m.createState();
            const logits = (await m.prefill(s, tokens, { logits: 'all' }))!;
            expect(relMaxDiff(logits, ref.logits), `L=${L} logits`).toBeLessThan(1e-3);
            const host = await m.readState(s);
            host.layers.forEach((ls, l) => {
              const r = ref.state.layers[l]!;
              expect(relMaxDiff(ls.ssm, r.ssm), `L=${L} ssm ${l}`).toBeLessThan(1e-3);
              expect(relMaxDiff(ls.conv, r.conv), `L=${L} conv ${l}`).toBeLessThan(1e-3);
              expect(relMaxDiff(ls.dtSum, r.dtSum), `L=${L} dtSum ${l}`).toBeLessThan(1e-3);
            });
            // Decode continues from that state exactly as the reference continues.
            const more = tokensFor(3, config.vocabSize, 99);
            const cont = referenceForward(weights, more, ref.state);
            for (let i = 0; i < more.length; i++) {
              const d = await m.decodeStep(s, more[i]!);
              const V = config.vocabSize;
              expect(
                relMaxDiff(d, cont.logits.subarray(i * V, (i + 1) * V)),
                `L=${L} decode ${i}`,
              ).toBeLessThan(1e-3);
            }
            s.destroy();
          }
        });
      });

      it('greedy generate equals the argmax continuation of the reference', async () => {
        await withScope(dev.device, async () => {
          const prompt = tokensFor(9, config.vocabSize, 4);
          const got = await m.generate(m.createState(), prompt, { maxNewTokens: 6 });
          const seq = [...prompt];
          for (let i = 0; i < 6; i++) {
            const ref = referenceForward(weights, seq);
            const last = argmaxRows(
              ref.logits.subarray((seq.length - 1) * config.vocabSize),
              config.vocabSize,
            );
            seq.push(last[0]!);
          }
          expect(got).toEqual(seq.slice(prompt.length));
        });
      });
    });
  }
}

describe('seeded sampling through generate()', () => {
  const config = Object.values(configs)[0]!;
  const weights = randomModel(config, 8);
  let m: GpuMambaModel;
  beforeAll(async () => {
    m = await GpuMambaModel.fromWeights(dev, weights, { dtype: 'f32' });
  });
  afterAll(() => m?.destroy());

  it('the same seed gives the same tokens; another seed other tokens; top-k 1 equals greedy', async () => {
    await withScope(dev.device, async () => {
      const prompt = tokensFor(5, config.vocabSize, 1);
      const opts = { maxNewTokens: 24, temperature: 1.5, topP: 0.95 };
      const s = m.createState();
      const a = await m.generate(s, prompt, { ...opts, seed: 42 });
      const b = await m.generate(s, prompt, { ...opts, seed: 42 });
      const c = await m.generate(s, prompt, { ...opts, seed: 43 });
      expect(a).toHaveLength(24);
      expect(b).toEqual(a);
      expect(c).not.toEqual(a);
      const greedy = await m.generate(s, prompt, { maxNewTokens: 24 });
      const top1 = await m.generate(s, prompt, { maxNewTokens: 24, temperature: 0.7, topK: 1, seed: 5 });
      expect(top1).toEqual(greedy);
      s.destroy();
    });
  });

  it('stop tokens end generation; reportTop gives the softmax probabilities of the chosen and top ids', async () => {
    await withScope(dev.device, async () => {
      const V = config.vocabSize;
      const prompt = tokensFor(6, V, 2);
      const greedy = await m.generate(m.createState(), prompt, { maxNewTokens: 5 });
      const stopped = await m.generate(m.createState(), prompt, {
        maxNewTokens: 5,
        stopTokens: [greedy[2]!],
      });
      expect(stopped).toEqual(greedy.slice(0, greedy.indexOf(greedy[2]!) + 1));

      const reports: { id: number; prob: number; alternatives: { id: number; prob: number }[] }[] = [];
      const ids = await m.generate(m.createState(), prompt, {
        maxNewTokens: 3,
        temperature: 1,
        seed: 9,
        reportTop: 4,
        onToken: (id, _i, info) => reports.push({ id, ...info! }),
      });
      expect(reports.map((r) => r.id)).toEqual(ids);
      const seq = [...prompt];
      for (const r of reports) {
        const ref = referenceForward(weights, seq).logits.subarray((seq.length - 1) * V);
        const mx = Math.max(...ref);
        const z = ref.reduce((acc, v) => acc + Math.exp(v - mx), 0);
        const p = (i: number) => Math.exp(ref[i]! - mx) / z;
        const order = [...Array(V).keys()].sort((x, y) => ref[y]! - ref[x]!);
        expect(r.alternatives.map((x) => x.id)).toEqual(order.slice(0, 4));
        r.alternatives.forEach((x) => expect(Math.abs(x.prob - p(x.id))).toBeLessThan(1e-4));
        expect(Math.abs(r.prob - p(r.id))).toBeLessThan(1e-4);
        seq.push(r.id);
      }
    });
  });
});
