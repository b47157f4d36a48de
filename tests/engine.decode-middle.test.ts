/**
 * Decode with the fused middle (shaders/ssm_decode.wgsl: x_proj recomputed per workgroup, dt_proj, the scan
 * step and the gate in one dispatch; 3 dispatches per layer) on a real adapter:
 *  - against the transformers fixtures (tiny-a, tiny-b): one token at a time through decodeStep, each step's
 *    logits to 1e-3 in f32 and 5e-2 in f16 (the fixtures' tolerances), the states after the last step equal to
 *    the fixture's and to the engine's own prefill of the same tokens, greedy continuations identical in f32;
 *  - against the float64 reference on awkward shapes (Δ rank below and above the state size, a state size
 *    that divides nothing, channels that leave the last workgroup partial), each decode middle ('fused',
 *    'split': x_proj then ssm_decode, 'scan': x_proj then scan_coop), f32 and f16 (the reference then runs on
 *    the f16-rounded matrices), x_proj in one pass and in two;
 *  - generate: one submit per decode token, and only the sampled id read back.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { WeightDtype } from '../src/engine/api.ts';
import { ssmDecodeChannels, type DecodeMiddle } from '../src/engine/decisions.ts';
import type { EngineDevice } from '../src/engine/gpu/device.ts';
import { openNodeDevice } from '../src/engine/gpu/node.ts';
import { weightsAsHeld } from '../src/engine/gpu/weightMatrix.ts';
import { GpuMambaModel } from '../src/engine/model.ts';
import { randomConfig, randomHostWeights } from '../src/engine/randomWeights.ts';
import { referenceForward } from '../src/engine/reference/mamba.ts';
import type { MambaState } from '../src/engine/weights.ts';
import { loadFixture, relMaxDiff, type Fixture } from './helpers/fixtures.ts';
import { withScope } from './helpers/gpu.ts';

let dev: EngineDevice;
beforeAll(async () => {
  dev = await openNodeDevice();
});

const fixtures: Record<string, Fixture> = {};
const fixture = (n: 'tiny-a' | 'tiny-b') => (fixtures[n] ??= loadFixture(n));

function expectStates(got: MambaState, want: MambaState, tol: number, what: string) {
  got.layers.forEach((ls, l) => {
    const r = want.layers[l]!;
    expect(relMaxDiff(ls.ssm, r.ssm), `${what} ssm ${l}`).toBeLessThan(tol);
    expect(relMaxDiff(ls.conv, r.conv), `${what} conv ${l}`).toBeLessThan(tol);
    expect(relMaxDiff(ls.dtSum, r.dtSum), `${what} dtSum ${l}`).toBeLessThan(tol);
  });
}

/** The layer kernels of one decode token, without the embedding. */
function middleKernels(m: GpuMambaModel): string[] {
  return m.dispatchPlan!['decodeBody']!.slice(1).map((d) => d.label.replace(/^layer\d+\./, ''));
}

// Sequences short enough to decode token by token on SwiftShader: tiny-a's "b" (24 tokens), tiny-b's "p1" (33).
const SEQ = { 'tiny-a': 'b', 'tiny-b': 'p1' } as const;

for (const name of ['tiny-a', 'tiny-b'] as const) {
  for (const dtype of ['f32', 'f16'] as WeightDtype[]) {
    const tol = dtype === 'f32' ? 1e-3 : 5e-2;
    describe(`${name} ${dtype}, fused decode middle`, () => {
      it(`3 dispatches per layer; decodeStep logits within ${tol} of transformers; states equal prefill's`, async () => {
        const fx = fixture(name);
        const c = fx.weights.config;
        const seq = SEQ[name];
        const tokens = fx.expected.int32(`${seq}.tokens`);
        const want = fx.expected.float32(`${seq}.logits`);
        const V = c.vocabSize;
        await withScope(dev.device, async () => {
          const m = await GpuMambaModel.fromWeights(dev, fx.weights, {
            dtype,
            variant: 'hardware',
            decodeMiddle: 'fused',
            chunkSize: 16,
          });
          try {
            const per = ['in_proj.gemv_fused', 'ssm_decode', 'out_proj.gemv_fused'];
            // With subgroups (_sg) or native f16 (_h) the GEMV has a twin's name.
            const kernels = middleKernels(m).map((k) => k.replace(/gemv_fused(_sg)?(_h)?$/, 'gemv_fused'));
            expect(kernels).toEqual(Array.from({ length: c.numLayers }, () => per).flat());
            // The first token through prefill, every other one through the decode path.
            const s = m.createState();
            await m.prefill(s, tokens.subarray(0, 1));
            for (let t = 1; t < tokens.length; t++) {
              const got = await m.decodeStep(s, tokens[t]!);
              expect(relMaxDiff(got, want.subarray(t * V, (t + 1) * V)), `token ${t}`).toBeLessThan(tol);
            }
            const decoded = await m.readState(s);
            const fxState: MambaState = {
              layers: decoded.layers.map((_, l) => ({
                ssm: fx.expected.float32(`${seq}.ssm_state.${l}`),
                conv: fx.expected.float32(`${seq}.conv_state.${l}`),
                dtSum: fx.expected.float32(`${seq}.dt_sum.${l}`),
              })),
            };
            expectStates(decoded, fxState, tol, 'vs transformers');
            const p = m.createState();
            await m.prefill(p, tokens);
            expectStates(decoded, await m.readState(p), tol, 'vs prefill');
            s.destroy();
            p.destroy();
          } finally {
            m.destroy();
          }
        });
      });
    });
  }

  it(`${name} f32, fused decode middle: greedy continuation equals <seq>.greedy`, async () => {
    const fx = fixture(name);
    const seq = SEQ[name];
    await withScope(dev.device, async () => {
      const m = await GpuMambaModel.fromWeights(dev, fx.weights, {
        dtype: 'f32',
        variant: 'hardware',
        decodeMiddle: 'fused',
      });
      try {
        const s = m.createState();
        const out = await m.generate(s, fx.expected.int32(`${seq}.tokens`), { maxNewTokens: 24 });
        expect(out).toEqual([...fx.expected.int32(`${seq}.greedy`)]);
        s.destroy();
      } finally {
        m.destroy();
      }
    });
  });
}

it('generate submits one command buffer per decode token and maps only the 4-byte sampled id', async () => {
  const fx = fixture('tiny-a');
  const m = await GpuMambaModel.fromWeights(dev, fx.weights, { dtype: 'f32', variant: 'hardware' });
  const q = dev.device.queue;
  const submit = q.submit.bind(q);
  const createBuffer = dev.device.createBuffer.bind(dev.device);
  let submits = 0;
  const mapped: number[] = [];
  q.submit = (buffers) => {
    submits++;
    submit(buffers);
  };
  dev.device.createBuffer = (desc) => {
    if (desc.usage & GPUBufferUsage.MAP_READ) mapped.push(desc.size);
    return createBuffer(desc);
  };
  try {
    const counts: number[] = [];
    for (const n of [4, 10]) {
      submits = 0;
      const s = m.createState();
      const out = await m.generate(s, [3, 17, 255], { maxNewTokens: n });
      expect(out.length).toBe(n);
      counts.push(submits);
      s.destroy();
    }
    expect(counts[1]! - counts[0]!).toBe(6);
    // Staging buffers are padded to 16 bytes; the sampled id alone is 4 (sampling.ts reportBytes).
    expect(mapped.length).toBeGreaterThan(0);
    expect(Math.max(...mapped)).toBeLessThanOrEqual(16);
  } finally {
    q.submit = submit;
    dev.device.createBuffer = createBuffer;
    m.destroy();
  }
});

describe('decode middle against the float64 reference on awkward shapes', () => {
  const base = { ...randomConfig('130m'), vocabSize: 260, numLayers: 2, hiddenSize: 48 };
  const shapes = [
    // Δ rank 13 < 16 state elements; 200 channels over workgroups of 64 or 16 (the last one holds 8).
    { name: 'R 13, DS 16, DI 200', config: { ...base, intermediateSize: 200, timeStepRank: 13 } },
    // Δ rank 37 > 5 state elements (204 or 51 channels per workgroup), no conv bias.
    {
      name: 'R 37, DS 5, DI 96',
      config: { ...base, intermediateSize: 96, timeStepRank: 37, stateSize: 5, useConvBias: false },
    },
    // 100 + 2 x 16 = 132 x_proj outputs: two passes of ssm_decode's x_proj (128 rows, then 4).
    { name: 'R 100, DS 16, DI 72', config: { ...base, intermediateSize: 72, timeStepRank: 100 } },
  ];
  for (const sh of shapes) {
    for (const middle of ['fused', 'split', 'scan'] as DecodeMiddle[]) {
      for (const dtype of ['f32', 'f16'] as WeightDtype[]) {
        it(`${sh.name}, ${middle}, ${dtype}: decode logits and states within 1e-3`, async () => {
          const w = randomHostWeights(sh.config, 11);
          const held = weightsAsHeld(w, dtype);
          await withScope(dev.device, async () => {
            const m = await GpuMambaModel.fromWeights(dev, w, {
              dtype,
              variant: 'hardware',
              decodeMiddle: middle,
              chunkSize: 8,
            });
            try {
              const kernels = middleKernels(m);
              expect(kernels.includes('ssm_decode')).toBe(middle !== 'scan');
              expect(kernels.length).toBe(sh.config.numLayers * (middle === 'fused' ? 3 : 4));
              if (middle !== 'scan') {
                // The last workgroup holds fewer channels than the others.
                const ch = ssmDecodeChannels(sh.config.stateSize, middle === 'fused');
                expect(sh.config.intermediateSize % ch).not.toBe(0);
              }
              const prompt = [1, 2, 250];
              const more = [9, 259, 0, 77];
              const cont = referenceForward(held, more, referenceForward(held, prompt).state);
              const V = sh.config.vocabSize;
              const s = m.createState();
              await m.prefill(s, prompt);
              for (let i = 0; i < more.length; i++) {
                const got = await m.decodeStep(s, more[i]!);
                const want = cont.logits.subarray(i * V, (i + 1) * V);
                expect(relMaxDiff(got, want), `decode ${i}`).toBeLessThan(1e-3);
              }
              expectStates(await m.readState(s), cont.state, 1e-3, 'vs reference');
              s.destroy();
            } finally {
              m.destroy();
            }
          });
        });
      }
    }
  }
});
