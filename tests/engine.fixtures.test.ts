/**
 * The WebGPU engine against the transformers fixtures (tiny-a, tiny-b) on a real adapter (Dawn; SwiftShader
 * here). Tolerances are the fixtures' own: 1e-3 relative to max(1, max|value|) for f32 weights.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openNodeDevice } from '../src/engine/gpu/node.ts';
import type { EngineDevice } from '../src/engine/gpu/device.ts';
import { GpuMambaModel, type KernelVariant } from '../src/engine/model.ts';
import { loadFixture, relMaxDiff, type Fixture } from './helpers/fixtures.ts';
import { argmaxRows, withScope } from './helpers/gpu.ts';

let dev: EngineDevice;
beforeAll(async () => {
  dev = await openNodeDevice();
});

const fixtures: Record<string, Fixture> = {};
const fixture = (n: 'tiny-a' | 'tiny-b') => (fixtures[n] ??= loadFixture(n));

for (const name of ['tiny-a', 'tiny-b'] as const) {
  for (const variant of ['software', 'hardware'] as KernelVariant[]) {
    describe(`${name} f32 (${variant} kernels)`, () => {
      let model: GpuMambaModel;
      beforeAll(async () => {
        // A chunk of 64 makes tiny-b's 300-token sequence span 5 chunks (the last one partial).
        model = await GpuMambaModel.fromWeights(dev, fixture(name).weights, {
          dtype: 'f32',
          variant,
          chunkSize: 64,
        });
      });
      afterAll(() => model?.destroy());

      it('logits, SSM and conv states and Σ Δ of every sequence within 1e-3', async () => {
        const fx = fixture(name);
        await withScope(dev.device, async () => {
          for (const seq of fx.sequences) {
            const tokens = fx.expected.int32(`${seq}.tokens`);
            const state = model.createState();
            const logits = await model.prefill(state, tokens, { logits: 'all' });
            expect(relMaxDiff(logits!, fx.expected.float32(`${seq}.logits`)), `${seq}.logits`).toBeLessThan(
              1e-3,
            );
            const host = await model.readState(state);
            host.layers.forEach((ls, l) => {
              expect(relMaxDiff(ls.ssm, fx.expected.float32(`${seq}.ssm_state.${l}`))).toBeLessThan(1e-3);
              expect(relMaxDiff(ls.conv, fx.expected.float32(`${seq}.conv_state.${l}`))).toBeLessThan(1e-3);
              expect(relMaxDiff(ls.dtSum, fx.expected.float32(`${seq}.dt_sum.${l}`))).toBeLessThan(1e-3);
            });
            state.destroy();
          }
        });
      });

      it('greedy continuations equal <seq>.greedy', async () => {
        const fx = fixture(name);
        await withScope(dev.device, async () => {
          // The cooperative kernels are slow on SwiftShader (a barrier per token in the scan, a 256-wide
          // sampler): there, one sequence per fixture checks them; the software kernels check all.
          const seqs = variant === 'software' ? fx.sequences : fx.sequences.slice(-1);
          for (const seq of seqs) {
            const state = model.createState();
            const out = await model.generate(state, fx.expected.int32(`${seq}.tokens`), { maxNewTokens: 24 });
            expect(out, seq).toEqual([...fx.expected.int32(`${seq}.greedy`)]);
            state.destroy();
          }
        });
      });
    });
  }
}

describe('f16 weights', () => {
  for (const name of ['tiny-a', 'tiny-b'] as const) {
    it(`${name}: logits within 5e-2, argmax agreeing at >= 99 % of positions`, async () => {
      const fx = fixture(name);
      const model = await GpuMambaModel.fromWeights(dev, fx.weights, { dtype: 'f16' });
      await withScope(dev.device, async () => {
        let agree = 0;
        let total = 0;
        for (const seq of fx.sequences) {
          const tokens = fx.expected.int32(`${seq}.tokens`);
          const state = model.createState();
          const logits = (await model.prefill(state, tokens, { logits: 'all' }))!;
          const want = fx.expected.float32(`${seq}.logits`);
          expect(relMaxDiff(logits, want), seq).toBeLessThan(5e-2);
          const a = argmaxRows(logits, fx.weights.config.vocabSize);
          const b = argmaxRows(want, fx.weights.config.vocabSize);
          a.forEach((v, i) => (agree += v === b[i] ? 1 : 0));
          total += a.length;
          state.destroy();
        }
        expect(agree / total).toBeGreaterThanOrEqual(0.99);
      });
      model.destroy();
    });
  }
});
