/**
 * continueMany (batched prefill and decode, src/engine/batchRun.ts) against per-query generate() on the
 * fixture models, on a real adapter: greedy ids identical and each step's logits within 1e-4 of the single
 * path (prefill 'last' then decodeStep), for both kernel variants, f32 and f16 weights, batches of 1, 3 and
 * 32, queries of 1 to 21 tokens (cut across prefill chunks), stop tokens, one shared state or one per query,
 * and the states left untouched. Mamba-2's batched plan has its own file, tests/engine.mamba2-batch.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GpuState, WeightDtype } from '../src/engine/api.ts';
import type { EngineDevice } from '../src/engine/gpu/device.ts';
import { openNodeDevice } from '../src/engine/gpu/node.ts';
import { GpuMambaModel, type KernelVariant } from '../src/engine/model.ts';
import { loadFixture, relMaxDiff, type Fixture } from './helpers/fixtures.ts';
import { rng, withScope } from './helpers/gpu.ts';

let dev: EngineDevice;
const fixtures: Record<string, Fixture> = {};
beforeAll(async () => {
  dev = await openNodeDevice();
  fixtures['tiny-a'] = loadFixture('tiny-a');
  fixtures['tiny-b'] = loadFixture('tiny-b');
});

const engines: GpuMambaModel[] = [];
afterAll(() => engines.forEach((e) => e.destroy()));

/** 32 queries of 1..21 random ids (seeded), the first of one token. */
function queriesFor(vocab: number, seed: number): number[][] {
  const r = rng(seed);
  return Array.from({ length: 32 }, (_, i) =>
    Array.from({ length: i === 0 ? 1 : 1 + Math.floor(r() * 21) }, () => Math.floor(r() * vocab)),
  );
}

async function stateAfter(e: GpuMambaModel, tokens: ArrayLike<number>): Promise<GpuState> {
  const s = e.createState();
  await e.prefill(s, tokens);
  return s;
}

const cases: [string, KernelVariant, WeightDtype][] = [];
for (const name of ['tiny-a', 'tiny-b'])
  for (const variant of ['software', 'hardware'] as const)
    for (const dtype of ['f32', 'f16'] as const) cases.push([name, variant, dtype]);

describe.each(cases)('continueMany on %s, %s variant, %s', (name, variant, dtype) => {
  let e: GpuMambaModel;
  let f: Fixture;
  let state: GpuState;
  let queries: number[][];
  const N = 6;
  // A fixture prompt to start from (tiny-a's sequence a, tiny-b's p1).
  const prompt = () => f.expected.int32(name === 'tiny-a' ? 'a.tokens' : 'p1.tokens');
  beforeAll(async () => {
    f = fixtures[name]!;
    // A chunk of 16 tokens: 32 queries of up to 21 tokens need many chunks and cut some queries across two.
    e = await GpuMambaModel.fromWeights(dev, f.weights, { dtype, variant, chunkSize: 16 });
    engines.push(e);
    state = await stateAfter(e, prompt());
    queries = queriesFor(f.weights.config.vocabSize, name === 'tiny-a' ? 7 : 8);
  });

  it('gives generate()’s greedy ids at batches of 1, 3 and 32, and leaves the state as it was', async () => {
    await withScope(dev.device, async () => {
      const before = await e.readState(state);
      const want: number[][] = [];
      for (const q of queries) want.push(await e.generate(state, q, { maxNewTokens: N }));
      expect(e.batchCapacity).toBeGreaterThanOrEqual(16);
      // Batch 1 on the first five queries only: it costs what generate() does, and SwiftShader is slow.
      expect(await e.continueMany(state, queries.slice(0, 5), { maxNewTokens: N, batchSize: 1 })).toEqual(
        want.slice(0, 5),
      );
      for (const batchSize of [3, 32]) {
        expect(await e.continueMany(state, queries, { maxNewTokens: N, batchSize })).toEqual(want);
      }
      const after = await e.readState(state);
      after.layers.forEach((ls, l) => {
        expect(ls.ssm).toEqual(before.layers[l]!.ssm);
        expect(ls.conv).toEqual(before.layers[l]!.conv);
        expect(ls.dtSum).toEqual(before.layers[l]!.dtSum);
      });
    });
  }, 600_000);

  it('gives each step’s logits within 1e-4 of the single path (prefill, then decodeStep)', async () => {
    await withScope(dev.device, async () => {
      const V = f.weights.config.vocabSize;
      const some = [queries[0]!, queries[1]!, queries[2]!];
      const steps: Float32Array[] = [];
      const ids = await e.continueMany(state, some, {
        maxNewTokens: 4,
        onLogits: (i, l) => void (steps[i] = l),
      });
      let worst = 0;
      for (const [b, q] of some.entries()) {
        const s = e.createState();
        e.copyState(s, state);
        let logits = (await e.prefill(s, q, { logits: 'last' }))!;
        for (let i = 0; i < 4; i++) {
          worst = Math.max(worst, relMaxDiff(steps[i]!.subarray(b * V, (b + 1) * V), logits));
          if (i < 3) logits = await e.decodeStep(s, ids[b]![i]!);
        }
        s.destroy();
      }
      expect(worst).toBeLessThan(1e-4);
    });
  }, 600_000);

  it('stops each query after its first stop token, as generate() does', async () => {
    await withScope(dev.device, async () => {
      const free = await e.continueMany(state, queries.slice(0, 8), { maxNewTokens: N });
      // Stop at ids that really occur early in some continuations.
      const stopTokens = [free[0]![1]!, free[3]![0]!];
      const want: number[][] = [];
      for (const q of queries.slice(0, 8)) {
        want.push(await e.generate(state, q, { maxNewTokens: N, stopTokens }));
      }
      expect(want.some((w) => w.length < N)).toBe(true);
      expect(await e.continueMany(state, queries.slice(0, 8), { maxNewTokens: N, stopTokens })).toEqual(want);
    });
  }, 600_000);

  it('continues each query from its own state when given one per query', async () => {
    await withScope(dev.device, async () => {
      const tokens = prompt();
      const states = await Promise.all(
        [3, 5, 9, 1].map((n) => stateAfter(e, tokens.subarray(0, Math.min(n, tokens.length)))),
      );
      const qs = queries.slice(4, 8);
      const want: number[][] = [];
      for (const [i, q] of qs.entries()) want.push(await e.generate(states[i]!, q, { maxNewTokens: N }));
      expect(await e.continueMany(states, qs, { maxNewTokens: N, batchSize: 3 })).toEqual(want);
      states.forEach((s) => s.destroy());
    });
  }, 600_000);
});

describe('continueMany input checks', () => {
  it('refuses an empty query, a token outside the vocabulary and a state count that does not match', async () => {
    const f = fixtures['tiny-a']!;
    const e = await GpuMambaModel.fromWeights(dev, f.weights, { dtype: 'f32' });
    engines.push(e);
    const s = e.createState();
    await expect(e.continueMany(s, [[1], []], { maxNewTokens: 2 })).rejects.toThrow(/query 1 is empty/);
    await expect(e.continueMany(s, [[1, 300]], { maxNewTokens: 2 })).rejects.toThrow(/position 1/);
    await expect(e.continueMany([s], [[1], [2]], { maxNewTokens: 2 })).rejects.toThrow(/1 states for 2/);
    expect(await e.continueMany(s, [[1], [2]], { maxNewTokens: 0 })).toEqual([[], []]);
    s.destroy();
  });
});
