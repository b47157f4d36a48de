/**
 * The Mamba-2 forward on a real adapter (src/engine/mamba2Gpu.ts, f32 weights) against transformers 5.17's
 * outputs in tests/fixtures/m2-tiny-a (and, for logits and greedy paths, m2-tiny-b and m2-tiny-c): every position's logits within 1e-3 of max(1, max |want|) through the
 * chunked scan and, token by token, through the step kernel; the greedy continuations exactly (decoded one token
 * at a time from the state the prompt left); the state after `head` against the float64 reference within 1e-4;
 * and the mix: that state mixed 0.5/0.5 with itself, written back, continued with the query.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EngineDevice } from '../src/engine/gpu/device.ts';
import { openNodeDevice } from '../src/engine/gpu/node.ts';
import { GpuMamba2Model } from '../src/engine/mamba2Gpu.ts';
import type { Mamba2State } from '../src/engine/mamba2Weights.ts';
import { mamba2Forward } from '../src/engine/reference/mamba2.ts';
import { relMaxDiff } from './helpers/fixtures.ts';
import { argmaxRows, withScope } from './helpers/gpu.ts';
import { loadMamba2Fixture } from './helpers/mamba2Fixture.ts';

let dev: EngineDevice;
let model: GpuMamba2Model;
const fx = loadMamba2Fixture();
const V = fx.weights.config.vocabSize;

beforeAll(async () => {
  dev = await openNodeDevice();
  model = new GpuMamba2Model(dev, fx.weights);
});
afterAll(() => model.destroy());

describe('Mamba-2 on the GPU against transformers (m2-tiny-b, m2-tiny-c)', () => {
  // n_groups 2 and 4, an untied head, projection biases, no conv bias, a clamped Δ, d_conv 3 and 2, 1 token.
  for (const name of ['m2-tiny-b', 'm2-tiny-c'] as const) {
    it(`${name}: logits within 1e-3 (chunked scan), greedy continuations exact (step kernel)`, async () => {
      const f = loadMamba2Fixture(name);
      const vocab = f.weights.config.vocabSize;
      const m = new GpuMamba2Model(dev, f.weights);
      try {
        await withScope(dev.device, async () => {
          for (const seq of f.sequences) {
            m.writeState();
            const logits = await m.forward(f.expected.int32(`${seq}.tokens`), 'chunked');
            expect(relMaxDiff(logits, f.expected.float32(`${seq}.logits`)), seq).toBeLessThan(1e-3);
            const greedy = [argmaxRows(logits.subarray(logits.length - vocab), vocab)[0]!];
            while (greedy.length < 24)
              greedy.push(argmaxRows(await m.forward([greedy.at(-1)!], 'step'), vocab)[0]!);
            expect(greedy, seq).toEqual([...f.expected.int32(`${seq}.greedy`)]);
          }
        });
      } finally {
        m.destroy();
      }
    });
  }
});

describe('Mamba-2 on the GPU against transformers (m2-tiny-a)', () => {
  for (const seq of ['long', 'a', 'b']) {
    it(`${seq}: logits within 1e-3 (chunked scan), greedy continuation exact (step kernel)`, async () => {
      await withScope(dev.device, async () => {
        model.writeState();
        const logits = await model.forward(fx.expected.int32(`${seq}.tokens`), 'chunked');
        expect(relMaxDiff(logits, fx.expected.float32(`${seq}.logits`))).toBeLessThan(1e-3);
        const greedy: number[] = [argmaxRows(logits.subarray(logits.length - V), V)[0]!];
        while (greedy.length < 24)
          greedy.push(argmaxRows(await model.forward([greedy.at(-1)!], 'step'), V)[0]!);
        expect(greedy).toEqual([...fx.expected.int32(`${seq}.greedy`)]);
      });
    });
  }

  it('b token by token through the step kernel: the same logits', async () => {
    await withScope(dev.device, async () => {
      model.writeState();
      const tokens = fx.expected.int32('b.tokens');
      const rows: number[] = [];
      for (const t of tokens) rows.push(...(await model.forward([t], 'step')));
      expect(relMaxDiff(rows, fx.expected.float32('b.logits'))).toBeLessThan(1e-3);
    });
  });

  it("head's state (against the reference), mixed 0.5/0.5 with itself, continued with the query", async () => {
    await withScope(dev.device, async () => {
      model.writeState();
      const head = fx.expected.int32('head.tokens');
      const logits = await model.forward(head);
      expect(relMaxDiff(logits, fx.expected.float32('head.logits'))).toBeLessThan(1e-3);
      const state = await model.readState();
      const want = mamba2Forward(fx.weights, head).state;
      state.layers.forEach((ls, l) => {
        const w = want.layers[l]!;
        expect(relMaxDiff(ls.ssm, w.ssm)).toBeLessThan(1e-4);
        expect(relMaxDiff(ls.conv, w.conv)).toBeLessThan(1e-4);
        expect(relMaxDiff(ls.dtSum, w.dtSum)).toBeLessThan(1e-4);
      });
      const [w0, w1] = fx.expected.float32('mix.weights');
      const mix = (a: Float32Array) => a.map((v) => w0! * v + w1! * v);
      const mixed: Mamba2State = {
        layers: state.layers.map((l) => ({ ssm: mix(l.ssm), conv: mix(l.conv), dtSum: mix(l.dtSum) })),
      };
      model.writeState(mixed);
      const query = await model.forward(fx.expected.int32('mix.query_tokens'));
      expect(relMaxDiff(query, fx.expected.float32('mix.query_logits'))).toBeLessThan(1e-3);
    });
  });
});
