/**
 * Engine behaviour around states on a real adapter: decode (GEMV path) equals prefill (GEMM path),
 * continuing from a saved state equals reading the concatenation, a CPU-mixed state written to the GPU
 * reproduces the fixture's mix query, score() matches log-softmax of the fixture logits, cancellation leaves
 * the state as it was, and row-split weight matrices give the same logits.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openNodeDevice } from '../src/engine/gpu/node.ts';
import type { EngineDevice } from '../src/engine/gpu/device.ts';
import { GpuMambaModel } from '../src/engine/model.ts';
import { zeroState, type MambaState } from '../src/engine/weights.ts';
import { loadFixture, relMaxDiff, type Fixture } from './helpers/fixtures.ts';
import { withScope } from './helpers/gpu.ts';

let dev: EngineDevice;
let fa: Fixture;
let fb: Fixture;
let a: GpuMambaModel;
let b: GpuMambaModel;
beforeAll(async () => {
  dev = await openNodeDevice();
  fa = loadFixture('tiny-a');
  fb = loadFixture('tiny-b');
  a = await GpuMambaModel.fromWeights(dev, fa.weights, { dtype: 'f32', chunkSize: 16 });
  b = await GpuMambaModel.fromWeights(dev, fb.weights, { dtype: 'f32', chunkSize: 64 });
});
afterAll(() => {
  a?.destroy();
  b?.destroy();
});

const row = (x: Float32Array, r: number, V: number) => x.subarray(r * V, (r + 1) * V);

describe('decode and continuation', () => {
  it('tiny-a: decoding token by token gives the prefill logits (and the fixture) at every position', async () => {
    await withScope(dev.device, async () => {
      const V = fa.weights.config.vocabSize;
      const tokens = fa.expected.int32('a.tokens');
      const want = fa.expected.float32('a.logits');
      const s = a.createState();
      const prefilled = (await a.prefill(a.createState(), tokens, { logits: 'all' }))!;
      let worst = 0;
      let worstVsPrefill = 0;
      for (let t = 0; t < tokens.length; t++) {
        const logits = await a.decodeStep(s, tokens[t]!);
        worst = Math.max(worst, relMaxDiff(logits, row(want, t, V)));
        worstVsPrefill = Math.max(worstVsPrefill, relMaxDiff(logits, row(prefilled, t, V)));
      }
      expect(worst).toBeLessThan(1e-3);
      expect(worstVsPrefill).toBeLessThan(1e-4);
      const host = await a.readState(s);
      host.layers.forEach((ls, l) => {
        expect(relMaxDiff(ls.ssm, fa.expected.float32(`a.ssm_state.${l}`))).toBeLessThan(1e-3);
        expect(relMaxDiff(ls.conv, fa.expected.float32(`a.conv_state.${l}`))).toBeLessThan(1e-3);
        expect(relMaxDiff(ls.dtSum, fa.expected.float32(`a.dt_sum.${l}`))).toBeLessThan(1e-3);
      });
      s.destroy();
    });
  });

  it('tiny-b: prefill of a prefix, readState → writeState into a new state, prefill of the rest = the whole', async () => {
    await withScope(dev.device, async () => {
      const V = fb.weights.config.vocabSize;
      const tokens = fb.expected.int32('long.tokens');
      const want = fb.expected.float32('long.logits');
      for (const cut of [1, 64, 131]) {
        const s1 = b.createState();
        await b.prefill(s1, tokens.subarray(0, cut));
        const saved = await b.readState(s1);
        const s2 = b.createState();
        b.writeState(s2, saved);
        const rest = (await b.prefill(s2, tokens.subarray(cut), { logits: 'all' }))!;
        expect(relMaxDiff(rest, want.subarray(cut * V)), `cut ${cut}`).toBeLessThan(1e-3);
        const last = (await b.prefill(s1, tokens.subarray(cut), { logits: 'last' }))!;
        expect(relMaxDiff(last, row(want, tokens.length - 1, V))).toBeLessThan(1e-3);
        s1.destroy();
        s2.destroy();
      }
    });
  });

  it('tiny-b: the CPU mix of the fixture states, written with writeState, reproduces mix.query_logits', async () => {
    await withScope(dev.device, async () => {
      const cfg = fb.weights.config;
      const sources = [...fb.expected.int32('mix.sources')].map((i) => fb.sequences[i]!);
      const weights = fb.expected.float32('mix.weights');
      const states: MambaState[] = [];
      for (const seq of sources) {
        const s = b.createState();
        await b.prefill(s, fb.expected.int32(`${seq}.tokens`));
        states.push(await b.readState(s));
        s.destroy();
      }
      const mixed = zeroState(cfg);
      mixed.layers.forEach((ml, l) => {
        states.forEach((st, i) => {
          const w = weights[i]!;
          const src = st.layers[l]!;
          src.ssm.forEach((v, j) => (ml.ssm[j] = ml.ssm[j]! + w * v));
          src.conv.forEach((v, j) => (ml.conv[j] = ml.conv[j]! + w * v));
        });
      });
      const s = b.createState();
      b.writeState(s, mixed);
      const logits = (await b.prefill(s, fb.expected.int32('mix.query_tokens'), { logits: 'all' }))!;
      expect(relMaxDiff(logits, fb.expected.float32('mix.query_logits'))).toBeLessThan(1e-3);
      s.destroy();
    });
  });
});

describe('score', () => {
  it('per-token NLL equals −log softmax of the fixture logits; the state is untouched', async () => {
    await withScope(dev.device, async () => {
      const V = fb.weights.config.vocabSize;
      const tokens = fb.expected.int32('long.tokens');
      const logits = fb.expected.float32('long.logits');
      const want = new Float64Array(tokens.length - 1);
      for (let t = 0; t + 1 < tokens.length; t++) {
        const r = row(logits, t, V);
        let m = -Infinity;
        for (const v of r) m = Math.max(m, v);
        let z = 0;
        for (const v of r) z += Math.exp(v - m);
        want[t] = Math.log(z) + m - r[tokens[t + 1]!]!;
      }
      const s = b.createState();
      await b.prefill(s, fb.expected.int32('p1.tokens'));
      const before = await b.readState(s);
      const fresh = b.createState();
      const got = await b.score(fresh, tokens);
      expect(got.nll.length).toBe(tokens.length - 1);
      expect(relMaxDiff(got.nll, want)).toBeLessThan(1e-3);
      const mean = want.reduce((x, y) => x + y, 0) / want.length;
      expect(Math.abs(got.meanNll - mean)).toBeLessThan(1e-3);
      expect(got.perplexity).toBeCloseTo(Math.exp(got.meanNll), 6);
      // Scoring from a non-zero state leaves it unchanged.
      await b.score(s, tokens.subarray(0, 100));
      const after = await b.readState(s);
      after.layers.forEach((ls, l) => {
        expect(ls.ssm).toEqual(before.layers[l]!.ssm);
        expect(ls.conv).toEqual(before.layers[l]!.conv);
        expect(ls.dtSum).toEqual(before.layers[l]!.dtSum);
      });
      s.destroy();
      fresh.destroy();
    });
  });
});

describe('progress and cancellation', () => {
  it('reports progress per chunk; an aborted prefill rejects with AbortError and leaves the state as it was', async () => {
    await withScope(dev.device, async () => {
      const tokens = fb.expected.int32('long.tokens');
      const s = b.createState();
      await b.prefill(s, fb.expected.int32('p2.tokens'));
      const before = await b.readState(s);
      const seen: number[] = [];
      const ctl = new AbortController();
      const run = b.prefill(s, tokens, {
        signal: ctl.signal,
        onProgress: (p) => {
          seen.push(p.done);
          if (p.done >= 128) ctl.abort();
        },
      });
      await expect(run).rejects.toMatchObject({ name: 'AbortError' });
      expect(seen).toEqual([64, 128]);
      const after = await b.readState(s);
      after.layers.forEach((ls, l) => {
        expect(ls.ssm).toEqual(before.layers[l]!.ssm);
        expect(ls.conv).toEqual(before.layers[l]!.conv);
      });
      const all: number[] = [];
      await b.prefill(b.createState(), tokens, { onProgress: (p) => all.push(p.done) });
      expect(all).toEqual([64, 128, 192, 256, 300]);
      s.destroy();
    });
  });
});

describe('generate', () => {
  it('leaves the state untouched, streams ids in order, and stops on abort', async () => {
    await withScope(dev.device, async () => {
      const s = b.createState();
      await b.prefill(s, fb.expected.int32('p3.tokens'));
      const before = await b.readState(s);
      const streamed: number[] = [];
      const ids = await b.generate(s, fb.expected.int32('p1.tokens'), {
        maxNewTokens: 10,
        onToken: (id) => void streamed.push(id),
      });
      expect(streamed).toEqual(ids);
      const ctl = new AbortController();
      const run = b.generate(s, [1, 2], {
        maxNewTokens: 50,
        signal: ctl.signal,
        onToken: (_id, i) => {
          if (i === 2) ctl.abort();
        },
      });
      await expect(run).rejects.toMatchObject({ name: 'AbortError' });
      const after = await b.readState(s);
      after.layers.forEach((ls, l) => {
        expect(ls.ssm).toEqual(before.layers[l]!.ssm);
        expect(ls.conv).toEqual(before.layers[l]!.conv);
        expect(ls.dtSum).toEqual(before.layers[l]!.dtSum);
      });
      s.destroy();
    });
  });
});

describe('row-split weight matrices', () => {
  for (const dtype of ['f32', 'f16'] as const) {
    it(`${dtype}: a tiny binding limit (embedding in many parts) gives the unsplit logits`, async () => {
      const cfg = fa.weights.config;
      // 2 KiB holds 7 (f32) or 15 (f16) rows of 64: the 300-row embedding becomes 43 or 20 parts.
      const split = await GpuMambaModel.fromWeights(dev, fa.weights, { dtype, maxBindingBytes: 2048 });
      const whole = await GpuMambaModel.fromWeights(dev, fa.weights, { dtype });
      await withScope(dev.device, async () => {
        const tokens = fa.expected.int32('a.tokens');
        const x = (await split.prefill(split.createState(), tokens, { logits: 'all' }))!;
        const y = (await whole.prefill(whole.createState(), tokens, { logits: 'all' }))!;
        expect(x.length).toBe(tokens.length * cfg.vocabSize);
        expect(relMaxDiff(x, y)).toBeLessThan(1e-5);
        const gx = await split.generate(split.createState(), tokens, { maxNewTokens: 8 });
        const gy = await whole.generate(whole.createState(), tokens, { maxNewTokens: 8 });
        expect(gx).toEqual(gy);
      });
      split.destroy();
      whole.destroy();
    });
  }
});
