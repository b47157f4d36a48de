/** The weights hash and retrieval by similarity. */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { mamba2NamedTensors } from '../src/engine/mamba2Weights.ts';
import { weightsFromSource } from '../src/engine/weights.ts';
import { parseMambaConfig } from '../src/model/config.ts';
import type { Mamba2Config } from '../src/model/mamba2Config.ts';
import { SafetensorsFile } from '../src/model/safetensors.ts';
import { loadFixture, safetensorsSource } from './helpers/fixtures.ts';
import { loadMamba2Fixture } from './helpers/mamba2Fixture.ts';
import { hashModelWeights, namedTensors, WeightsHasher } from '../src/engine/states/hash.ts';
import { rankStates, retrieveAndMix, softmaxWeights } from '../src/engine/states/retrieval.ts';
import {
  newStateId,
  StateMismatchError,
  type StateShape,
  type StoredState,
} from '../src/engine/states/types.ts';
import type { MambaState } from '../src/engine/weights.ts';
import { bits, randomState } from './mix-helpers.ts';

describe('hashModelWeights', () => {
  it('is stable across loads, differs between models, and changes with one ulp of one weight', () => {
    const a1 = hashModelWeights(loadFixture('tiny-a').weights);
    const a2 = hashModelWeights(loadFixture('tiny-a').weights);
    const b = hashModelWeights(loadFixture('tiny-b').weights);
    expect(a1).toMatch(/^w2-[0-9a-f]{16}$/);
    expect(a2).toBe(a1);
    expect(b).not.toBe(a1);
    const w = loadFixture('tiny-a').weights;
    const u = new Uint32Array(w.layers[1]!.dtBias.buffer, w.layers[1]!.dtBias.byteOffset, 1);
    u[0] = u[0]! + 1;
    expect(hashModelWeights(w)).not.toBe(a1);
    const c = loadFixture('tiny-a').weights;
    expect(hashModelWeights({ ...c, config: { ...c.config, layerNormEpsilon: 1e-6 } })).not.toBe(a1);
  });

  it('streams tensors in any order to the same digest as hashModelWeights', () => {
    const w = loadFixture('tiny-a').weights;
    const whole = hashModelWeights(w);
    const named = namedTensors(w);
    expect(named.length).toBeGreaterThan(10);
    // A fixed-seed shuffle (Fisher–Yates over a small LCG) that is checked to differ from the name order.
    const order = named.slice();
    let seed = 12345;
    for (let i = order.length - 1; i > 0; i--) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      const j = seed % (i + 1);
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    expect(order.map((t) => t[0])).not.toEqual(named.map((t) => t[0]));
    const streamed = new WeightsHasher(w.config);
    for (const [name, t] of order) streamed.add(name, t.slice());
    expect(streamed.digest()).toBe(whole);
    // Swapping two same-shaped tensors' names changes it: names are part of the hash, not just the values.
    const swapped = new WeightsHasher(w.config);
    for (const [name, t] of named) {
      const other = name.endsWith('.mixer.D')
        ? name.replace('.mixer.D', '.mixer.dt_proj.bias')
        : name.endsWith('.mixer.dt_proj.bias')
          ? name.replace('.mixer.dt_proj.bias', '.mixer.D')
          : name;
      swapped.add(other, t);
    }
    expect(swapped.digest()).not.toBe(whole);
  });
});

describe('the weights hash of each family', () => {
  it("keeps the bundled Mamba-1 model's hash: the one its study results recorded (docs/studies/results)", () => {
    const root = join(dirname(fileURLToPath(import.meta.url)), '..');
    const { run } = JSON.parse(readFileSync(join(root, 'docs/studies/results/icl.json'), 'utf8')) as {
      run: { model: { id: string; weightsHash: string } };
    };
    expect(run.model.id).toBe('soup-mamba-4.6m');
    const recorded = run.model.weightsHash;
    const dir = join(root, 'public/models/soup-mamba-4.6m');
    const config = parseMambaConfig(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')));
    const file = new SafetensorsFile(new Uint8Array(readFileSync(join(dir, 'model.safetensors'))));
    expect(hashModelWeights(weightsFromSource(config, safetensorsSource(file)))).toBe(recorded);
  });

  it('Mamba-2: each config field that changes the computation changes the hash; the tensors stream alike', () => {
    const w = loadMamba2Fixture('m2-tiny-a').weights;
    const named = mamba2NamedTensors(w);
    const digest = (config: Mamba2Config) => {
      const h = new WeightsHasher(config);
      for (const [name, t] of named) h.add(name, t);
      return h.digest();
    };
    const base = digest(w.config);
    expect(base).toMatch(/^w2-[0-9a-f]{16}$/);
    expect(hashModelWeights(w)).toBe(base);
    const c = w.config;
    const changed: Partial<Mamba2Config>[] = [
      { vocabSize: c.vocabSize + 1 },
      { hiddenSize: c.hiddenSize * 2 },
      { numLayers: c.numLayers + 1 },
      { numHeads: c.numHeads * 2, headDim: c.headDim / 2 },
      { headDim: c.headDim * 2, numHeads: c.numHeads / 2 },
      { nGroups: c.nGroups * 2 },
      { stateSize: c.stateSize + 1 },
      { expand: c.expand + 1 },
      { convKernel: c.convKernel - 1 },
      { chunkSize: c.chunkSize * 2 },
      { useConvBias: !c.useConvBias },
      { useBias: !c.useBias },
      { rmsNorm: !c.rmsNorm },
      { layerNormEpsilon: c.layerNormEpsilon * 10 },
      { residualInFp32: !c.residualInFp32 },
      { timeStepLimit: [0.001, c.timeStepLimit[1]] },
      { timeStepLimit: [c.timeStepLimit[0], 100] },
      { tieWordEmbeddings: !c.tieWordEmbeddings },
    ];
    const seen = new Set([base]);
    for (const change of changed) {
      const h = digest({ ...c, ...change });
      expect(seen.has(h), JSON.stringify(change)).toBe(false);
      seen.add(h);
    }
    // The two non-finite upper limits are told apart (JSON.stringify writes both as null).
    expect(digest({ ...c, timeStepLimit: [0, Infinity] })).not.toBe(
      digest({ ...c, timeStepLimit: [0, NaN] }),
    );
  });
});

const shape: StateShape = { layers: 3, dInner: 32, dState: 4, convWidth: 3 };
function stored(id: string, state: MambaState, extra: Partial<StoredState['meta']> = {}): StoredState {
  return {
    meta: {
      id,
      name: id,
      modelId: 'm',
      weightsHash: 'w1-x',
      shape,
      text: '',
      tokenIds: [],
      tokenCount: 0,
      createdAt: 0,
      ...extra,
    },
    state,
  };
}
const library = [1, 2, 3, 4, 5].map((i) => stored(`s${i}`, randomState(shape, i)));

function perturbed(s: MambaState, eps: number, seed: number): MambaState {
  const noise = randomState(shape, seed);
  return {
    layers: s.layers.map((l, i) => ({
      ssm: l.ssm.map((x, j) => x + eps * noise.layers[i]!.ssm[j]!),
      conv: l.conv.slice(),
      dtSum: l.dtSum.slice(),
    })),
  };
}

describe('retrieval', () => {
  it('finds the stored state a noisy query came from, by cosine and by L2, per layer and over all layers', () => {
    for (const target of [0, 3]) {
      const query = stored('q', perturbed(library[target]!.state, 0.2, 77));
      for (const metric of ['cosine', 'l2'] as const) {
        for (const layer of [0, 2, 'all'] as const) {
          const hits = rankStates(query, library, { metric, layer, k: 3 });
          expect(hits.length).toBe(3);
          expect(hits[0]!.state.meta.id).toBe(`s${target + 1}`);
          expect(hits[0]!.score).toBeGreaterThan(hits[1]!.score);
        }
      }
    }
  });

  it('cosine ignores scale, L2 does not', () => {
    const scaled = stored('q', {
      layers: library[1]!.state.layers.map((l) => ({ ...l, ssm: l.ssm.map((x) => 3 * x) })),
    });
    const cos = rankStates(scaled, library, { metric: 'cosine', layer: 'all' });
    expect(cos[0]!.state.meta.id).toBe('s2');
    expect(cos[0]!.score).toBeCloseTo(1, 12);
    const l2 = rankStates(scaled, library, { metric: 'l2', layer: 'all' });
    expect(l2.find((h) => h.state.meta.id === 's2')!.distance).toBeGreaterThan(1);
  });

  it('softmax weights sum to 1, follow the scores, and sharpen as τ falls', () => {
    const w = softmaxWeights([0.9, 0.5, 0.1], 0.2);
    expect(w.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(w[0]).toBeGreaterThan(w[1]!);
    expect(w[1]).toBeGreaterThan(w[2]!);
    expect(softmaxWeights([0.9, 0.5], 0.01)[0]).toBeGreaterThan(0.999);
    expect(() => softmaxWeights([1], 0)).toThrow(StateMismatchError);
  });

  it('retrieve-and-mix: the top k mixed with softmax(similarity/τ); a tiny τ returns the best state exactly', () => {
    const query = stored('q', perturbed(library[2]!.state, 0.1, 5));
    const r = retrieveAndMix(query, library, { metric: 'cosine', layer: 1, k: 3, tau: 0.1 });
    expect(r.sources.map((s) => s.meta.id)[0]).toBe('s3');
    expect(r.weights.length).toBe(3);
    const e = 7;
    const want = r.sources.reduce((a, s, i) => a + r.weights[i]! * s.state.layers[0]!.ssm[e]!, 0);
    expect(r.mixed.state.layers[0]!.ssm[e]).toBeCloseTo(want, 5);
    const sharp = retrieveAndMix(query, library, { metric: 'cosine', layer: 1, k: 3, tau: 1e-4 });
    expect(sharp.weights[0]).toBe(1);
    expect(bits(sharp.mixed.state)).toEqual(bits(library[2]!.state));
  });

  it('refuses a library with states of another model, and a layer that does not exist', () => {
    const query = stored('q', library[0]!.state);
    const foreign = stored('f', library[1]!.state, { weightsHash: 'w1-y' });
    expect(() => rankStates(query, [...library, foreign], { metric: 'cosine', layer: 0 })).toThrow(
      /different models/,
    );
    expect(() => rankStates(query, library, { metric: 'cosine', layer: 3 })).toThrow(/layers 0 to 2/);
  });
});

describe('newStateId', () => {
  it('is "s-" and a version-4 UUID, different each time', () => {
    const ids = Array.from({ length: 200 }, newStateId);
    for (const id of ids)
      expect(id).toMatch(/^s-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
