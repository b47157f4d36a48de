/**
 * The fused decode plan of the hardware variant (shaders/gemv_fused*.wgsl: norm folded into in_proj with the
 * conv step as its epilogue, out_proj adding into the residual, norm_f folded into the LM head) against the
 * float64 CPU reference, in f32 and f16 (the reference then runs on the f16-rounded matrices, so the only
 * difference left is f32 arithmetic), with and without subgroups, including a model whose weight matrices are
 * split into several row parts (each part recomputes the norm) and one with in/out_proj biases.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WeightDtype } from '../src/engine/api.ts';
import type { EngineDevice } from '../src/engine/gpu/device.ts';
import { openNodeDevice } from '../src/engine/gpu/node.ts';
import { GpuMambaModel } from '../src/engine/model.ts';
import { referenceForward } from '../src/engine/reference/mamba.ts';
import { randomConfig, randomHostWeights } from '../src/engine/randomWeights.ts';
import type { MambaWeights } from '../src/engine/weights.ts';
import { weightsAsHeld } from '../src/engine/gpu/weightMatrix.ts';
import { loadFixture, relMaxDiff } from './helpers/fixtures.ts';
import { withScope } from './helpers/gpu.ts';

let dev: EngineDevice;
beforeAll(async () => {
  dev = await openNodeDevice();
});
afterAll(() => undefined);

/** tiny-b with small biases on in_proj / out_proj (the fixture has none), to cover the bias path. */
function withBiases(w: MambaWeights): MambaWeights {
  const { hiddenSize: dm, intermediateSize: di } = w.config;
  const wave = (n: number, s: number) => Float32Array.from({ length: n }, (_, i) => s * Math.sin(i * 0.7));
  return {
    ...w,
    config: { ...w.config, useBias: true },
    layers: w.layers.map((l) => ({ ...l, inProjBias: wave(2 * di, 0.05), outProjBias: wave(dm, 0.05) })),
  };
}

const cases: {
  name: string;
  dtype: WeightDtype;
  subgroups: boolean;
  bias?: boolean;
  maxBindingBytes?: number;
  decodeRows?: number;
  decodeSteps?: 1 | 4;
}[] = [
  { name: 'f32', dtype: 'f32', subgroups: false },
  { name: 'f32 subgroups', dtype: 'f32', subgroups: true },
  { name: 'f16', dtype: 'f16', subgroups: false },
  { name: 'f16 subgroups', dtype: 'f16', subgroups: true },
  {
    name: 'f16 split into row parts, biases',
    dtype: 'f16',
    subgroups: true,
    bias: true,
    maxBindingBytes: 4096,
  },
  // Several rows per workgroup: 3 leaves partial workgroups (x_proj 22 rows, head 512), 4 divides most.
  { name: 'f32, 4 rows per workgroup', dtype: 'f32', subgroups: false, decodeRows: 4 },
  { name: 'f16 subgroups, 3 rows per workgroup', dtype: 'f16', subgroups: true, decodeRows: 3 },
  // The plan built with STEPS4 on (tiny-b's rows are too short for the four-step loop to run: that loop is
  // checked at long rows in kernels.gemv-fused.test.ts).
  { name: 'f16 subgroups, STEPS4 on', dtype: 'f16', subgroups: true, decodeSteps: 4 },
  {
    name: 'f16 split into row parts, biases, 3 rows per workgroup',
    dtype: 'f16',
    subgroups: false,
    bias: true,
    maxBindingBytes: 4096,
    decodeRows: 3,
  },
];

describe('fused hardware decode (tiny-b)', () => {
  for (const c of cases) {
    it(`${c.name}: prefill then 4 decode steps give the reference logits and states within 1e-3`, async () => {
      if (c.subgroups && !dev.hasSubgroups) return;
      const fx = loadFixture('tiny-b');
      const base = c.bias ? withBiases(fx.weights) : fx.weights;
      const held = weightsAsHeld(base, c.dtype);
      await withScope(dev.device, async () => {
        const m = await GpuMambaModel.fromWeights(dev, base, {
          dtype: c.dtype,
          variant: 'hardware',
          subgroups: c.subgroups,
          chunkSize: 16,
          maxBindingBytes: c.maxBindingBytes,
          decodeRows: c.decodeRows,
          decodeSteps: c.decodeSteps,
        });
        try {
          expect(m.dispatchPlan!['decodeBody']!.some((d) => d.label.includes('gemv_fused'))).toBe(true);
          const V = base.config.vocabSize;
          const prompt = [3, 17, 255, 9, 100];
          const more = [42, 7, 311, 0];
          const ref0 = referenceForward(held, prompt);
          const cont = referenceForward(held, more, ref0.state);
          const s = m.createState();
          await m.prefill(s, prompt);
          for (let i = 0; i < more.length; i++) {
            const got = await m.decodeStep(s, more[i]!);
            const want = cont.logits.subarray(i * V, (i + 1) * V);
            expect(relMaxDiff(got, want), `decode ${i}`).toBeLessThan(1e-3);
          }
          const host = await m.readState(s);
          host.layers.forEach((ls, l) => {
            const r = cont.state.layers[l]!;
            expect(relMaxDiff(ls.ssm, r.ssm), `ssm ${l}`).toBeLessThan(1e-3);
            expect(relMaxDiff(ls.conv, r.conv), `conv ${l}`).toBeLessThan(1e-3);
            expect(relMaxDiff(ls.dtSum, r.dtSum), `dtSum ${l}`).toBeLessThan(1e-3);
          });
          s.destroy();
        } finally {
          m.destroy();
        }
      });
    });
  }
});

describe('hardware decode on shapes the fused GEMV cannot take (d_model % 8 != 0)', () => {
  it('keeps the 6-dispatch plan and still matches the reference within 1e-3', async () => {
    const config = {
      ...randomConfig('130m'),
      vocabSize: 300,
      hiddenSize: 36,
      intermediateSize: 72,
      numLayers: 2,
      timeStepRank: 3,
    };
    const w = randomHostWeights(config, 7);
    await withScope(dev.device, async () => {
      const m = await GpuMambaModel.fromWeights(dev, w, { dtype: 'f32', variant: 'hardware', chunkSize: 8 });
      try {
        const plan = m.dispatchPlan!;
        expect(plan['decodeBody']!.some((d) => d.label.includes('gemv_fused'))).toBe(false);
        expect(plan['decodeBody']!.length).toBe(1 + 2 * 6);
        const prompt = [1, 2, 250];
        const more = [9, 299];
        const cont = referenceForward(w, more, referenceForward(w, prompt).state);
        const s = m.createState();
        await m.prefill(s, prompt);
        for (let i = 0; i < more.length; i++) {
          const got = await m.decodeStep(s, more[i]!);
          const want = cont.logits.subarray(i * 300, (i + 1) * 300);
          expect(relMaxDiff(got, want), `decode ${i}`).toBeLessThan(1e-3);
        }
        s.destroy();
      } finally {
        m.destroy();
      }
    });
  });
});
