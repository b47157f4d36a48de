/**
 * Pure parts of the playground UI (the share recipe has its own file, share.test.ts): the mapping of mixer settings onto
 * the states module's MixSpec (checked against the CPU mix of the tiny-a fixture), task presets, the sweep
 * CSV, the triangle pad's barycentric coordinates and keyboard steps.
 */
import { describe, expect, it } from 'vitest';
import { specOf } from '../src/worker/mix-recipe.ts';
import { mixStatesCpu } from '../src/engine/states/cpuMix.ts';
import { planMix } from '../src/engine/states/mixSpec.ts';
import { referenceForward } from '../src/engine/reference/mamba.ts';
import { exampleLines, heldOut, taskPrompts, type TaskSuite } from '../src/features/library/presets.ts';
import { sweepCsv, SWEEP_ALPHAS } from '../src/features/charts/sweep.ts';
import { fromBarycentric, toBarycentric } from '../src/features/mixer/TrianglePad.tsx';
import { stepFor } from '../src/features/mixer/WeightSlider.tsx';
import { topKMix } from '../src/features/retrieval/topk.ts';
import { cachedModelLabel } from '../src/features/storage/StoragePanel.tsx';
import { loadFixture } from './helpers/fixtures.ts';
import type { MixRecipe } from '../src/worker/protocol.ts';

describe('mixer settings as a MixSpec', () => {
  const base: MixRecipe = {
    sources: [
      { key: 'a', weight: 0.25 },
      { key: 'b', weight: 0.75 },
    ],
    mode: 'weighted',
    normalize: false,
    parts: { ssm: true, conv: true },
    profile: 'uniform',
  };
  it("reproduces the fixture's weighted mix (0.25·a + 0.75·b, both parts)", () => {
    const fx = loadFixture('tiny-a');
    const a = referenceForward(fx.weights, fx.expected.int32('a.tokens')).state;
    const b = referenceForward(fx.weights, fx.expected.int32('b.tokens')).state;
    const spec = specOf(base, fx.weights.config.numLayers);
    const mixed = mixStatesCpu([a, b], planMix(spec, 2, fx.weights.config.numLayers));
    for (let l = 0; l < fx.weights.config.numLayers; l++) {
      const want = fx.expected
        .float32(`a.ssm_state.${l}`)
        .map((x, i) => 0.25 * x + 0.75 * fx.expected.float32(`b.ssm_state.${l}`)[i]!);
      const got = mixed.layers[l]!.ssm;
      let max = 0;
      for (let i = 0; i < got.length; i++) max = Math.max(max, Math.abs(got[i]! - want[i]!));
      expect(max).toBeLessThan(1e-4);
    }
  });
  it('A-decay ignores the sliders and keeps the last conv state; mixing SSM only keeps conv from the last state', () => {
    const ad = specOf({ ...base, mode: 'adecay' }, 2);
    expect(ad.weights).toEqual([1, 1]);
    expect(ad.conv).toBe('last');
    const ssmOnly = specOf({ ...base, parts: { ssm: true, conv: false } }, 2);
    expect([ssmOnly.ssm, ssmOnly.conv]).toEqual(['mix', 'last']);
  });
  it('a profile becomes per-layer weights; no part at all is refused', () => {
    const s = specOf({ ...base, profile: 'late' }, 4);
    expect(s.layerWeights).toHaveLength(4);
    expect(s.layerWeights![3]).toEqual([0.25, 0.75]);
    expect(() => specOf({ ...base, parts: { ssm: false, conv: false } }, 2)).toThrow(/at least one part/);
  });
});

describe('task presets', () => {
  const suite: TaskSuite = {
    separator: '->',
    tasks: [
      {
        name: 'antonym',
        kind: 'knowledge',
        description: 'opposites',
        train: Array.from({ length: 20 }, (_, i) => [`w${i}`, `o${i}`] as [string, string]),
        heldout: [
          ['hot', 'cold'],
          ['big', 'small'],
          ['up', 'down'],
        ],
      },
    ],
  };
  it('makes disjoint k-shot prompts in the trained format, deterministically', () => {
    const p = taskPrompts(suite, 'antonym', 4, 3);
    expect(p).toHaveLength(3);
    const lines = p.flatMap((x) => x.trimEnd().split('\n'));
    expect(lines).toHaveLength(12);
    expect(new Set(lines).size).toBe(12);
    expect(
      lines.every((l) => /^w\d+->o\d+$/.test(l) && l.split('->')[0]!.slice(1) === l.split('->')[1]!.slice(1)),
    ).toBe(true);
    expect(taskPrompts(suite, 'antonym', 4, 3)).toEqual(p);
    expect(taskPrompts(suite, 'antonym', 8, 5)).toHaveLength(2); // only 20 examples
  });
  it('held-out query ends with the separator and is not in the evaluation text', () => {
    const h = heldOut(suite, 'antonym');
    expect(h.query).toMatch(/->$/);
    expect(h.evalText).not.toContain(h.query);
    expect(exampleLines([['a', 'b']], '->')).toBe('a->b\n');
  });
});

describe('sweep, pad and keyboard', () => {
  it('sweeps −0.5 … 1.5 in 21 steps and writes CSV with quoted labels', () => {
    expect(SWEEP_ALPHAS[0]).toBe(-0.5);
    expect(SWEEP_ALPHAS[20]).toBe(1.5);
    expect(SWEEP_ALPHAS).toContain(0);
    const csv = sweepCsv({ label: 'a, "b"', points: [{ alpha: 0, perplexity: 3 }] }, [
      { label: 'Zero state', perplexity: 5 },
    ]);
    expect(csv).toBe('kind,label,weight,perplexity\nsweep,"a, ""b""",0,3\nbaseline,Zero state,,5\n');
  });
  it('barycentric coordinates round-trip and stay convex outside the triangle', () => {
    const w: [number, number, number] = [0.2, 0.3, 0.5];
    const p = fromBarycentric(w);
    toBarycentric(p.x, p.y).forEach((v, i) => expect(v).toBeCloseTo(w[i]!, 6));
    const out = toBarycentric(-100, -100);
    expect(out.every((v) => v >= 0)).toBe(true);
    expect(out.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
  });
  it('arrow steps: plain 0.01, Shift ×10, Alt ×0.1', () => {
    expect(stepFor({ shiftKey: false, altKey: false }, 0.01)).toBe(0.01);
    expect(stepFor({ shiftKey: true, altKey: false }, 0.01)).toBeCloseTo(0.1);
    expect(stepFor({ shiftKey: false, altKey: true }, 0.01)).toBeCloseTo(0.001);
  });
});

describe('retrieval: Mix top k', () => {
  const hits = [
    { key: 'a', score: 0.9 },
    { key: 'b', score: 0.8 },
    { key: 'c', score: 0.1 },
  ];
  it('keeps the k best in rank order with weights softmax(score / τ) that sum to 1', () => {
    const m = topKMix(hits, 2, 0.1);
    expect(m.selected).toEqual(['a', 'b']);
    // Worked by hand: e^(0.9/0.1) : e^(0.8/0.1) = e : 1.
    expect(m.weights['a']).toBeCloseTo(Math.E / (Math.E + 1), 12);
    expect(m.weights['b']).toBeCloseTo(1 / (Math.E + 1), 12);
    expect(topKMix(hits, 5, 1).selected).toEqual(['a', 'b', 'c']);
    // A large τ flattens towards the mean, a small one picks the best.
    expect(topKMix(hits, 3, 1e6).weights['c']).toBeCloseTo(1 / 3, 5);
    expect(topKMix(hits, 3, 1e-3).weights['a']).toBeCloseTo(1, 12);
  });
  it('refuses a τ that is not positive, k below 1 and an empty ranking with a readable message', () => {
    expect(() => topKMix(hits, 2, 0)).toThrow(/τ must be positive/);
    expect(() => topKMix(hits, 0, 0.1)).toThrow(/k must be a whole number/);
    expect(() => topKMix([], 2, 0.1)).toThrow(/Rank the stored states first/);
  });
});

describe('storage panel', () => {
  it('names bundled cache groups by folder and keeps hub ids', () => {
    expect(cachedModelLabel('bundled:soup-mamba-4.6m')).toBe('soup-mamba-4.6m (bundled)');
    expect(cachedModelLabel('state-spaces/mamba-130m-hf@main')).toBe('state-spaces/mamba-130m-hf@main');
  });
});
