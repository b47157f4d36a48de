/**
 * The worker's host-side parts, no GPU: the state cache (where states live), the storage migration of
 * states saved under the retired "s1-" fingerprint, and the inspection maths. Expected values are worked
 * out by hand in the comments.
 */
import { describe, expect, it } from 'vitest';
import type { StoredState } from '../src/engine/states/types.ts';
import type { MambaState } from '../src/engine/weights.ts';
import { layerNorms, perplexityOf, ssmGrams } from '../src/worker/inspect.ts';
import { adoptSaved } from '../src/worker/migrations.ts';
import { StateCache, TEXT_STATES_KEPT, stateBytes } from '../src/worker/state-cache.ts';

/** A one-layer state whose SSM and conv parts are the given numbers. */
const state = (ssm: number[], conv: number[] = [0]): MambaState => ({
  layers: [{ ssm: Float32Array.from(ssm), conv: Float32Array.from(conv), dtSum: new Float32Array(1) }],
});

const stored = (id: string, text: string, weightsHash: string, modelId = 'm'): StoredState => ({
  meta: {
    id,
    name: id,
    modelId,
    weightsHash,
    shape: { layers: 1, dInner: 1, dState: 1, convWidth: 1 },
    text,
    tokenIds: [1],
    tokenCount: 1,
    createdAt: 0,
  },
  state: state([1]),
});

describe('the state cache', () => {
  it('gives ready states by key, skips or refuses the others with a clear message', async () => {
    const c = new StateCache();
    c.put('a', stored('a', 'x', 'w2-1'));
    c.put('b', stored('b', 'y', 'w2-1'));
    expect(c.readyKeys(['b', 'zz', 'a'])).toEqual(['b', 'a']);
    expect((await c.readyOf(['zz', 'a'])).map((s) => s.meta.id)).toEqual(['a']);
    await expect(c.storedMany(['a', 'zz'])).rejects.toThrow(/not ready yet/);
    await expect(c.startOf('zz')).rejects.toThrow(/not ready yet/);
    c.rename('a', 'renamed');
    expect((await c.stored('a')).meta.name).toBe('renamed');
    c.drop('a');
    expect(c.has('a')).toBe(false);
    c.clear();
    expect(c.has('b')).toBe(false);
  });

  it('reads each text once, and forgets the oldest beyond its limit', async () => {
    const c = new StateCache();
    const reads: string[] = [];
    const read = (t: string) => () => {
      reads.push(t);
      return Promise.resolve(state([t.length]));
    };
    const texts = Array.from({ length: TEXT_STATES_KEPT + 1 }, (_, i) => `t${i}`);
    for (const t of texts.slice(0, TEXT_STATES_KEPT)) await c.textState(t, read(t));
    const first = await c.textState('t0', read('t0'));
    expect(reads).toEqual(texts.slice(0, TEXT_STATES_KEPT));
    expect(await c.textState('t0', read('t0'))).toBe(first);
    // One more text: t0, the oldest, is dropped and read again when asked for.
    await c.textState(texts[TEXT_STATES_KEPT]!, read(texts[TEXT_STATES_KEPT]!));
    await c.textState('t0', read('t0'));
    expect(reads.filter((t) => t === 't0')).toHaveLength(2);
  });

  it('also bounds the text states by bytes (large Mamba-2 states), always keeping the newest', async () => {
    // Each state here: 4 bytes × (1 ssm + 1 conv + 1 Σ Δ) per layer of `state([x])`; a budget of 2.5 states.
    const one = stateBytes(state([1]));
    const c = new StateCache(2.5 * one);
    const reads: string[] = [];
    const read = (t: string) => () => {
      reads.push(t);
      return Promise.resolve(state([1]));
    };
    for (const t of ['a', 'b', 'c']) await c.textState(t, read(t));
    // c made three, over the budget: a, the oldest, went.
    await c.textState('b', read('b'));
    await c.textState('c', read('c'));
    await c.textState('a', read('a'));
    expect(reads).toEqual(['a', 'b', 'c', 'a']);
    const tiny = new StateCache(one / 2);
    await tiny.textState('x', read('x'));
    await tiny.textState('x', read('x'));
    expect(reads.slice(4)).toEqual(['x']);
  });
});

describe('taking saved states back (migrations)', () => {
  const weights = { modelId: 'm', weightsHash: 'w2-new', legacyHash: 's1-old' };

  it('uses a state saved with these weights as it is', () => {
    const s = stored('a', 'text', 'w2-new');
    expect(adoptSaved(s, 'text', weights)).toEqual({ use: s, saveBack: false });
  });

  it('re-tags a state saved under this model’s s1- fingerprint and asks to save it back', () => {
    const got = adoptSaved(stored('a', 'text', 's1-old'), 'text', weights);
    expect(got?.saveBack).toBe(true);
    expect(got?.use.meta.weightsHash).toBe('w2-new');
    expect(got?.use.meta.id).toBe('a');
  });

  it('leaves other texts, other weights and other models’ s1- states alone', () => {
    expect(adoptSaved(stored('a', 'other text', 'w2-new'), 'text', weights)).toBeUndefined();
    expect(adoptSaved(stored('a', 'text', 'w2-other'), 'text', weights)).toBeUndefined();
    expect(adoptSaved(stored('a', 'text', 's1-old', 'another model'), 'text', weights)).toBeUndefined();
  });
});

describe('inspection maths', () => {
  it('norms and Gram matrices of the SSM states', () => {
    // |(3, 4)| = 5, |(1, 0)| = 1; conv (0, 2) has norm 2.
    expect(layerNorms('k', state([3, 4], [0, 2]))).toEqual({ key: 'k', ssm: [5], conv: [2] });
    // (3,4)·(3,4) = 25, (3,4)·(1,0) = 3, (1,0)·(1,0) = 1.
    expect(ssmGrams([state([3, 4]), state([1, 0])])).toEqual([
      [
        [25, 3],
        [3, 1],
      ],
    ]);
    expect(ssmGrams([])).toEqual([]);
  });

  it('ssmGrams on long vectors (the four-way unrolled sum and its tail) matches a float64 sum', () => {
    const n = 1003;
    const a = Float32Array.from({ length: n }, (_, i) => Math.sin(i) * 3);
    const b = Float32Array.from({ length: n }, (_, i) => Math.cos(i * 0.7) - 0.25);
    let ab = 0;
    let aa = 0;
    for (let i = 0; i < n; i++) {
      ab += a[i]! * b[i]!;
      aa += a[i]! * a[i]!;
    }
    const g = ssmGrams([state(Array.from(a)), state(Array.from(b))])[0]!;
    expect(g[0]![1]).toBeCloseTo(ab, 9);
    expect(g[1]![0]).toBe(g[0]![1]);
    expect(g[0]![0]).toBeCloseTo(aa, 9);
  });

  it('perplexity is exp of the mean loss; NaN when nothing was predicted', () => {
    // mean(ln 2, ln 8) = ln 4.
    expect(perplexityOf(Float32Array.from([Math.LN2, 3 * Math.LN2]))).toBeCloseTo(4, 5);
    expect(perplexityOf(new Float32Array(0))).toBeNaN();
  });
});
