/**
 * continueMany on Mamba-2 (the batched plan of src/engine/mamba2/batch.ts, run by src/engine/batchRun.ts)
 * against per-query generate() on the Mamba-2 fixtures, on a real adapter, as tests/engine.batch.test.ts does
 * for Mamba-1: greedy ids identical and each step's logits within 1e-4 of the single path (prefill 'last', the
 * chunked SSD, then decodeStep), at batches of 1, 3 and the capacity, with queries of 1 to 21 tokens on
 * 16-token chunks (so queries are cut across chunks), stop tokens, one shared state or one per query, and
 * the states left untouched. m2-tiny-a (one group, d_conv 4) and m2-tiny-b (two groups, projection biases, an
 * untied head, a clamped Δ, d_conv 3), both kernel variants, f32 and f16 weights; each plan's segmented scan
 * is the one mamba2/decisions.ts picks (m2_scan_seg on software, m2_scan_seg_wg with and without subgroups on
 * hardware). continueMany must batch:
 * generate() is never called (the engines are opened with `batched: true`; by default the hardware variant
 * runs Mamba-2's queries one by one, which the last describe checks).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GpuState, WeightDtype } from '../src/engine/api.ts';
import type { EngineDevice } from '../src/engine/gpu/device.ts';
import { openNodeDevice } from '../src/engine/gpu/node.ts';
import { mamba2NamedTensors } from '../src/engine/mamba2Weights.ts';
import { GpuMambaModel, type KernelVariant } from '../src/engine/model.ts';
import type { BatchPlan } from '../src/engine/plan/batch.ts';
import { relMaxDiff } from './helpers/fixtures.ts';
import { rng, withScope } from './helpers/gpu.ts';
import { loadMamba2Fixture, type Mamba2Fixture, type Mamba2FixtureName } from './helpers/mamba2Fixture.ts';

let dev: EngineDevice;
beforeAll(async () => {
  dev = await openNodeDevice();
});

const engines: GpuMambaModel[] = [];
afterAll(() => engines.forEach((e) => e.destroy()));

/** 24 queries of 1..21 random ids (seeded), the first of one token. */
function queriesFor(vocab: number, seed: number): number[][] {
  const r = rng(seed);
  return Array.from({ length: 24 }, (_, i) =>
    Array.from({ length: i === 0 ? 1 : 1 + Math.floor(r() * 21) }, () => Math.floor(r() * vocab)),
  );
}

async function stateAfter(e: GpuMambaModel, tokens: ArrayLike<number>): Promise<GpuState> {
  const s = e.createState();
  await e.prefill(s, tokens);
  return s;
}

/**
 * Runs `body` with e.generate() counted (`calls()`: how many times continueMany fell back to it). Wrapped by
 * hand, not with vi.spyOn: the GPU machine runs these files through tests/device/vitest-shim.ts, which has no vi.
 */
async function countingGenerate<T>(e: GpuMambaModel, body: (calls: () => number) => Promise<T>): Promise<T> {
  const generate = e.generate.bind(e);
  let calls = 0;
  e.generate = (...args: Parameters<GpuMambaModel['generate']>) => {
    calls++;
    return generate(...args);
  };
  try {
    return await body(() => calls);
  } finally {
    // The instance's own property goes; the class's method shows through again.
    delete (e as { generate?: unknown }).generate;
  }
}

// The segmented scan each case's plan runs (mamba2/decisions.ts m2ScanSegKernel): m2-tiny-a's hardware case
// turns subgroups off, so both builds of m2_scan_seg_wg run through the engine (SwiftShader has subgroups).
const cases: [Mamba2FixtureName, KernelVariant, WeightDtype, boolean, string][] = [
  ['m2-tiny-a', 'software', 'f32', true, 'm2_scan_seg'],
  ['m2-tiny-a', 'hardware', 'f32', false, 'm2_scan_seg_wg'],
  ['m2-tiny-b', 'software', 'f32', true, 'm2_scan_seg'],
  ['m2-tiny-b', 'hardware', 'f16', true, 'm2_scan_seg_wg_sg'],
];

describe.each(cases)('continueMany on %s, %s variant, %s', (name, variant, dtype, subgroups, scanKernel) => {
  let e: GpuMambaModel;
  let f: Mamba2Fixture;
  let state: GpuState;
  let queries: number[][];
  const N = 6;
  const prompt = () => f.expected.int32(`${f.sequences[0]!}.tokens`);
  /** continueMany, checking that it batched (generate() would run one by one). */
  const batched: GpuMambaModel['continueMany'] = (s, qs, o) =>
    countingGenerate(e, async (calls) => {
      const out = await e.continueMany(s, qs, o);
      expect(calls()).toBe(0);
      return out;
    });
  beforeAll(async () => {
    f = loadMamba2Fixture(name);
    // A chunk of 16 tokens: 24 queries of up to 21 tokens need many chunks and cut some queries across two.
    // batched: the default, said here because `batched` below checks that no query went through generate().
    e = await GpuMambaModel.fromTensors(dev, f.weights.config, mamba2NamedTensors(f.weights), {
      dtype,
      variant,
      subgroups,
      chunkSize: 16,
      batched: true,
    });
    engines.push(e);
    state = await stateAfter(e, prompt());
    queries = queriesFor(f.weights.config.vocabSize, name === 'm2-tiny-a' ? 9 : 10);
  });

  it('gives generate()’s greedy ids at batches of 1, 3 and 16, and leaves the state as it was', async () => {
    await withScope(dev.device, async () => {
      const before = await e.readState(state);
      const want: number[][] = [];
      for (const q of queries) want.push(await e.generate(state, q, { maxNewTokens: N }));
      expect(e.batchCapacity).toBe(16);
      expect(await batched(state, queries.slice(0, 4), { maxNewTokens: N, batchSize: 1 })).toEqual(
        want.slice(0, 4),
      );
      for (const batchSize of [3, 16]) {
        expect(await batched(state, queries, { maxNewTokens: N, batchSize })).toEqual(want);
      }
      // The batch plan (built by the first continueMany; private to the engine) scans with the expected kernel.
      const body = (e as unknown as { batch: BatchPlan }).batch.body.map((d) => d.label);
      expect(body).toContain(`layer0.scan.${scanKernel}`);
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
      // The 1-token query, and two cut across chunks (the second starts where the first ends).
      const some = [queries[0]!, queries.find((q) => q.length > 16)!, queries[2]!];
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
      const qs = queries.slice(0, 8);
      const free = await batched(state, qs, { maxNewTokens: N });
      // Stop at ids that really occur early in some continuations.
      const stopTokens = [free[0]![1]!, free[3]![0]!];
      const want: number[][] = [];
      for (const q of qs) want.push(await e.generate(state, q, { maxNewTokens: N, stopTokens }));
      expect(want.some((w) => w.length < N)).toBe(true);
      expect(await batched(state, qs, { maxNewTokens: N, stopTokens })).toEqual(want);
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
      expect(await batched(states, qs, { maxNewTokens: N, batchSize: 3 })).toEqual(want);
      states.forEach((s) => s.destroy());
    });
  }, 600_000);
});

describe('continueMany on Mamba-2 by default', () => {
  it.each(['software', 'hardware'] as const)(
    '%s variant: batched, the same ids as one generate() per query, and one by one when told (batched: false)',
    async (variant) => {
      const f = loadMamba2Fixture('m2-tiny-a');
      const open = (batched?: boolean) =>
        GpuMambaModel.fromTensors(dev, f.weights.config, mamba2NamedTensors(f.weights), {
          dtype: 'f32',
          variant,
          chunkSize: 16,
          ...(batched === undefined ? {} : { batched }),
        });
      const e = await open();
      const unbatched = await open(false);
      engines.push(e, unbatched);
      await withScope(dev.device, async () => {
        const state = await stateAfter(e, f.expected.int32(`${f.sequences[0]!}.tokens`));
        const qs = queriesFor(f.weights.config.vocabSize, 3).slice(0, 5);
        const want: number[][] = [];
        for (const q of qs) want.push(await e.generate(state, q, { maxNewTokens: 4 }));
        await countingGenerate(e, async (calls) => {
          expect(await e.continueMany(state, qs, { maxNewTokens: 4 })).toEqual(want);
          expect(calls()).toBe(0);
        });
        state.destroy();
        const state1 = await stateAfter(unbatched, f.expected.int32(`${f.sequences[0]!}.tokens`));
        await countingGenerate(unbatched, async (calls) => {
          expect(await unbatched.continueMany(state1, qs, { maxNewTokens: 4 })).toEqual(want);
          expect(calls()).toBe(qs.length);
          // A batchSize given batches all the same.
          expect(await unbatched.continueMany(state1, qs, { maxNewTokens: 4, batchSize: 5 })).toEqual(want);
          expect(calls()).toBe(qs.length);
        });
        state1.destroy();
      });
    },
    600_000,
  );
});
