/**
 * States through the real engine (GpuMambaModel on Dawn; SwiftShader here): capture with progress and cancel,
 * the fixtures' mix.query_logits and adecay.query_logits reproduced by capturing the sources, mixing them on
 * the GPU and continuing from the mix, and a weight-1 mix giving the same state and generations.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openNodeDevice } from '../src/engine/gpu/node.ts';
import { withGpuErrors, type EngineDevice } from '../src/engine/gpu/device.ts';
import { GpuMambaModel } from '../src/engine/model.ts';
import { captureState } from '../src/engine/states/capture.ts';
import { GpuStateMixer } from '../src/engine/states/gpuMix.ts';
import { mixStoredGpu } from '../src/engine/states/mix.ts';
import { hashModelWeights } from '../src/engine/states/hash.ts';
import { shapeOfConfig, type StoredState } from '../src/engine/states/types.ts';
import type { MixSpec } from '../src/engine/states/mixSpec.ts';
import { loadFixture, relMaxDiff, type Fixture } from './helpers/fixtures.ts';
import { bits } from './mix-helpers.ts';

let dev: EngineDevice;
beforeAll(async () => {
  dev = await openNodeDevice();
});
afterAll(() => dev?.device.destroy());

/** Runs a test body inside validation and out-of-memory error scopes: any GPU error fails the test. */
const scoped = (what: string, body: () => Promise<void>) => () => withGpuErrors(dev.device, what, body);

async function setup(fx: Fixture) {
  const engine = await GpuMambaModel.fromWeights(dev, fx.weights, { dtype: 'f32', chunkSize: 8 });
  const mixer = new GpuStateMixer(
    dev.device,
    shapeOfConfig(fx.weights.config),
    fx.weights.layers.map((l) => l.aLog),
  );
  const weightsHash = hashModelWeights(fx.weights);
  const capture = (seq: string, extra: Partial<Parameters<typeof captureState>[1]> = {}) =>
    captureState(engine, {
      name: seq,
      text: `fixture sequence ${seq}`,
      tokenIds: Array.from(fx.expected.int32(`${seq}.tokens`)),
      modelId: fx.name,
      weightsHash,
      ...extra,
    });
  return { engine, mixer, weightsHash, capture };
}

describe('capture', () => {
  it(
    'tiny-b: the captured state matches the fixture (1e-3), with metadata and progress; cancel rejects',
    scoped('running this test', async () => {
      const fx = loadFixture('tiny-b');
      const { engine, mixer, weightsHash, capture } = await setup(fx);
      const progress: number[] = [];
      const s = await capture('long', { taskLabel: 'lm', onProgress: (p) => progress.push(p.done) });
      expect(s.meta).toMatchObject({
        name: 'long',
        modelId: 'tiny-b',
        weightsHash,
        tokenCount: 300,
        taskLabel: 'lm',
      });
      expect(s.meta.tokenIds.length).toBe(300);
      expect(progress.length).toBeGreaterThan(1);
      s.state.layers.forEach((ls, l) => {
        expect(relMaxDiff(ls.ssm, fx.expected.float32(`long.ssm_state.${l}`))).toBeLessThan(1e-3);
        expect(relMaxDiff(ls.conv, fx.expected.float32(`long.conv_state.${l}`))).toBeLessThan(1e-3);
        expect(relMaxDiff(ls.dtSum, fx.expected.float32(`long.dt_sum.${l}`))).toBeLessThan(1e-3);
      });
      // Continuing from a state: p1 read from the state after p2 equals p2+p1 read from zero.
      const p2 = await capture('p2');
      const cont = await capture('p1', { from: p2 });
      expect(cont.meta.origin).toContain(p2.meta.id);
      const both = await captureState(engine, {
        name: 'p2+p1',
        text: '',
        tokenIds: [...p2.meta.tokenIds, ...Array.from(fx.expected.int32('p1.tokens'))],
        modelId: 'tiny-b',
        weightsHash,
      });
      expect(relMaxDiff(cont.state.layers[2]!.ssm, both.state.layers[2]!.ssm)).toBeLessThan(1e-5);
      // Cancel after the first chunk.
      const ac = new AbortController();
      await expect(
        capture('long', { signal: ac.signal, onProgress: () => ac.abort() }),
      ).rejects.toMatchObject({
        name: 'AbortError',
      });
      // A state of other weights is refused as a starting point.
      await expect(
        capture('p1', { from: { ...p2, meta: { ...p2.meta, weightsHash: 'w1-other' } } }),
      ).rejects.toThrow(/belongs to/);
      mixer.destroy();
      engine.destroy();
    }),
  );
});

describe('mixes continued by the engine reproduce the fixtures', () => {
  for (const name of ['tiny-a', 'tiny-b'] as const) {
    it(
      `${name}: mix.query_logits and adecay.query_logits within 1e-3`,
      scoped('running this test', async () => {
        const fx = loadFixture(name);
        const { engine, mixer, capture } = await setup(fx);
        const sources: StoredState[] = [];
        for (const i of fx.expected.int32('mix.sources')) sources.push(await capture(fx.sequences[i]!));
        const query = fx.expected.int32('mix.query_tokens');
        const dst = engine.createState();
        const cases: [MixSpec, string][] = [
          [{ mode: 'weighted', weights: Array.from(fx.expected.float32('mix.weights')) }, 'mix.query_logits'],
          [{ mode: 'adecay' }, 'adecay.query_logits'],
        ];
        for (const [spec, key] of cases) {
          await mixStoredGpu(engine, mixer, sources, spec, dst);
          const logits = await engine.prefill(dst, query, { logits: 'all' });
          const d = relMaxDiff(logits!, fx.expected.float32(key));
          console.log(`[states.engine] ${name} ${key}: rel diff ${d.toExponential(2)}`);
          expect(d).toBeLessThan(1e-3);
        }
        // The mixed state is a starting point for scoring too: score() equals the NLL read off prefill's logits.
        await mixStoredGpu(engine, mixer, sources, cases[0]![0], dst);
        const scored = await engine.score(dst, query);
        const logits = (await engine.prefill(dst, query, { logits: 'all' }))!;
        const V = fx.weights.config.vocabSize;
        let nll = 0;
        for (let t = 0; t + 1 < query.length; t++) {
          const row = logits.subarray(t * V, (t + 1) * V);
          const m = Math.max(...row);
          const lse = m + Math.log(row.reduce((a, x) => a + Math.exp(x - m), 0));
          nll += lse - row[query[t + 1]!]!;
        }
        expect(scored.meanNll).toBeCloseTo(nll / (query.length - 1), 4);
        expect(scored.perplexity).toBeCloseTo(Math.exp(scored.meanNll), 6);
        dst.destroy();
        mixer.destroy();
        engine.destroy();
      }),
    );
  }

  it(
    'tiny-a: weight 1 on one state gives that state bit for bit and the same greedy generation',
    scoped('running this test', async () => {
      const fx = loadFixture('tiny-a');
      const { engine, mixer, capture } = await setup(fx);
      const a = await capture('a');
      const b = await capture('b');
      const dst = engine.createState();
      await mixStoredGpu(engine, mixer, [a, b], { mode: 'weighted', weights: [1, 0] }, dst);
      expect(bits(await engine.readState(dst))).toEqual(bits(a.state));
      const direct = engine.createState();
      engine.writeState(direct, a.state);
      const prompt = [5, 6, 7];
      const fromMix = await engine.generate(dst, prompt, { maxNewTokens: 12 });
      const fromState = await engine.generate(direct, prompt, { maxNewTokens: 12 });
      expect(fromMix).toEqual(fromState);
      expect(fromMix.length).toBe(12);
      await mixStoredGpu(engine, mixer, [b, b, b], { mode: 'mean' }, dst);
      expect(bits(await engine.readState(dst))).toEqual(bits(b.state));
      for (const s of [dst, direct]) s.destroy();
      mixer.destroy();
      engine.destroy();
    }),
  );
});
