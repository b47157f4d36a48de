/**
 * The mixing operators on the CPU: the fixtures' mix.* and adecay.* tensors reproduced through this API, the
 * exact invariants (weight 1, mean of copies), per-layer profiles and the refusals.
 */
import { describe, expect, it } from 'vitest';
import { loadFixture, relMaxDiff, type Fixture } from './helpers/fixtures.ts';
import { referenceForward } from '../src/engine/reference/mamba.ts';
import type { MambaState } from '../src/engine/weights.ts';
import { mixStoredCpu, checkMixable } from '../src/engine/states/mix.ts';
import { layerWeightGrid, planMix, policiesFromParts, type MixSpec } from '../src/engine/states/mixSpec.ts';
import { mixStatesCpu } from '../src/engine/states/cpuMix.ts';
import { randomState, bits } from './mix-helpers.ts';
import { shapeOfConfig, StateMismatchError, type StoredState } from '../src/engine/states/types.ts';

/** The fixture's per-sequence final states (from its expected.safetensors, not computed here). */
function fixtureState(fx: Fixture, seq: string): MambaState {
  return {
    layers: fx.weights.layers.map((_, l) => ({
      ssm: fx.expected.float32(`${seq}.ssm_state.${l}`),
      conv: fx.expected.float32(`${seq}.conv_state.${l}`),
      dtSum: fx.expected.float32(`${seq}.dt_sum.${l}`),
    })),
  };
}

function stored(fx: Fixture, seq: string, state = fixtureState(fx, seq)): StoredState {
  const tokens = Array.from(fx.expected.int32(`${seq}.tokens`));
  return {
    meta: {
      id: seq,
      name: seq,
      modelId: fx.name,
      weightsHash: 'w1-test',
      shape: shapeOfConfig(fx.weights.config),
      text: '',
      tokenIds: tokens,
      tokenCount: tokens.length,
      createdAt: 0,
    },
    state,
  };
}

function mixSources(fx: Fixture): StoredState[] {
  return Array.from(fx.expected.int32('mix.sources')).map((i) => stored(fx, fx.sequences[i]!));
}

const aLogs = (fx: Fixture) => fx.weights.layers.map((l) => l.aLog);

describe('mixing against the fixtures', () => {
  for (const name of ['tiny-a', 'tiny-b'] as const) {
    it(`${name}: mix.weights applied to both parts gives mix.query_logits (1e-3, as the reference test)`, () => {
      const fx = loadFixture(name);
      const weights = Array.from(fx.expected.float32('mix.weights'));
      const mixed = mixStoredCpu(mixSources(fx), { mode: 'weighted', weights });
      const query = fx.expected.int32('mix.query_tokens');
      const { logits } = referenceForward(fx.weights, query, mixed.state);
      const d = relMaxDiff(logits, fx.expected.float32('mix.query_logits'));
      expect(d).toBeLessThan(1e-3);
    });

    it(`${name}: A-decay of the ordered sources gives adecay.ssm_state (1e-5) and adecay.query_logits (1e-3)`, () => {
      const fx = loadFixture(name);
      const mixed = mixStoredCpu(mixSources(fx), { mode: 'adecay' }, aLogs(fx));
      mixed.state.layers.forEach((ls, l) => {
        expect(relMaxDiff(ls.ssm, fx.expected.float32(`adecay.ssm_state.${l}`))).toBeLessThan(1e-5);
      });
      // The conv state is the last source's, bit for bit.
      const last = mixSources(fx).at(-1)!.state;
      mixed.state.layers.forEach((ls, l) => expect(ls.conv).toEqual(last.layers[l]!.conv));
      const { logits } = referenceForward(fx.weights, fx.expected.int32('mix.query_tokens'), mixed.state);
      expect(relMaxDiff(logits, fx.expected.float32('adecay.query_logits'))).toBeLessThan(1e-3);
    });
  }

  it('A-decay is not the plain sum: dropping the decay moves the result away from the fixture', () => {
    const fx = loadFixture('tiny-b');
    const plain = mixStoredCpu(mixSources(fx), { mode: 'weighted', weights: [1, 1, 1] });
    const d = relMaxDiff(plain.state.layers[0]!.ssm, fx.expected.float32('adecay.ssm_state.0'));
    expect(d).toBeGreaterThan(1e-3);
  });
});

describe('exact invariants', () => {
  const shape = { layers: 3, dInner: 40, dState: 8, convWidth: 3 };
  const states = [1, 2, 3, 4].map((s) => randomState(shape, s));

  it('weight 1 on one state (others 0, free or normalised) reproduces it bit for bit, −0 included', () => {
    for (const normalize of [false, true]) {
      for (let j = 0; j < states.length; j++) {
        const weights = states.map((_, i) => (i === j ? 1 : 0));
        const out = mixStatesCpu(states, planMix({ mode: 'weighted', weights, normalize }, 4, shape.layers));
        expect(bits(out)).toEqual(bits(states[j]!));
      }
    }
    // A lone non-zero weight normalises to exactly 1.
    const out = mixStatesCpu(
      states,
      planMix({ mode: 'weighted', weights: [0, 0, 2.5, 0], normalize: true }, 4, 3),
    );
    expect(bits(out)).toEqual(bits(states[2]!));
  });

  it('the mean of K copies of one state is that state bit for bit (K = 2, 3, 5, 7)', () => {
    for (const k of [2, 3, 5, 7]) {
      const copies = Array.from({ length: k }, () => states[1]!);
      const out = mixStatesCpu(copies, planMix({ mode: 'mean' }, k, shape.layers));
      expect(bits(out)).toEqual(bits(states[1]!));
    }
  });

  it('the mean is the average (1e-6) and A-decay of one chunk is that chunk', () => {
    const out = mixStatesCpu(states, planMix({ mode: 'mean' }, 4, 3));
    const e = out.layers[1]!.ssm;
    for (let i = 0; i < e.length; i++) {
      const want = states.reduce((a, s) => a + s.layers[1]!.ssm[i]!, 0) / 4;
      expect(Math.abs(e[i]! - want)).toBeLessThan(1e-6 * 16);
    }
    const one = mixStatesCpu(
      [states[0]!],
      planMix({ mode: 'adecay' }, 1, 3),
      [0, 1, 2].map(() => new Float32Array(320)),
    );
    expect(bits(one)).toEqual(bits(states[0]!));
  });

  it('part policies: ssm mixed with conv from the last source, or zero', () => {
    const p = policiesFromParts('ssm');
    expect(p).toEqual({ ssm: 'mix', conv: 'last' });
    const out = mixStatesCpu(states, planMix({ mode: 'mean', ...p }, 4, 3));
    expect(out.layers[2]!.conv).toEqual(states[3]!.layers[2]!.conv);
    const z = mixStatesCpu(states, planMix({ mode: 'mean', ssm: 'zero', conv: 'mix' }, 4, 3));
    expect(z.layers[0]!.ssm.every((v) => Object.is(v, 0))).toBe(true);
    expect(z.layers[0]!.dtSum.every((v) => Object.is(v, 0))).toBe(true);
    expect(policiesFromParts('conv', 'zero')).toEqual({ ssm: 'last', conv: 'zero' });
  });

  it('per-layer profiles: layers outside the profile keep the base state exactly', () => {
    const w = [0.3, 0.7];
    const two = states.slice(0, 2);
    const early = layerWeightGrid(w, 3, { kind: 'early', split: 0.34, base: 0 });
    expect(early).toEqual([
      [0.3, 0.7],
      [1, 0],
      [1, 0],
    ]);
    const out = mixStatesCpu(two, planMix({ mode: 'weighted', layerWeights: early }, 2, 3));
    expect(bits({ layers: out.layers.slice(1) })).toEqual(bits({ layers: two[0]!.layers.slice(1) }));
    expect(out.layers[0]!.ssm).not.toEqual(two[0]!.layers[0]!.ssm);
    expect(layerWeightGrid(w, 3, { kind: 'late', split: 0.34, base: 'zero' })).toEqual([
      [0, 0],
      [0.3, 0.7],
      [0.3, 0.7],
    ]);
    const ramp = layerWeightGrid([0, 1], 3, { kind: 'ramp', base: 0 });
    expect(ramp).toEqual([
      [1, 0],
      [0.5, 0.5],
      [0, 1],
    ]);
    const zeroRow = mixStatesCpu(
      two,
      planMix(
        {
          mode: 'weighted',
          layerWeights: [
            [0, 0],
            [1, 0],
            [0, 1],
          ],
        },
        2,
        3,
      ),
    );
    expect(zeroRow.layers[0]!.ssm.every((v) => Object.is(v, 0))).toBe(true);
  });
});

describe('refusals', () => {
  const fx = loadFixture('tiny-a');
  const [a, b] = mixSources(fx) as [StoredState, StoredState];

  it('states of different models or weights', () => {
    const other = { ...b, meta: { ...b.meta, weightsHash: 'w1-other', name: 'other' } };
    expect(() => mixStoredCpu([a, other], { mode: 'mean' })).toThrow(StateMismatchError);
    expect(() => checkMixable([a.meta, other.meta])).toThrow(/different models/);
  });

  it('states of different shapes', () => {
    const other = { ...b, meta: { ...b.meta, shape: { ...b.meta.shape, dState: 8 } } };
    expect(() => mixStoredCpu([a, other], { mode: 'mean' })).toThrow(/shape/);
  });

  it('bad weights', () => {
    const spec = (s: Partial<MixSpec>): MixSpec => ({ mode: 'weighted', ...s });
    expect(() => mixStoredCpu([a, b], spec({ weights: [1] }))).toThrow(/1 weights for 2/);
    expect(() => mixStoredCpu([a, b], spec({ weights: [1.3, -0.3], normalize: true }))).toThrow(/negative/);
    expect(() => mixStoredCpu([a, b], spec({ weights: [0, 0], normalize: true }))).toThrow(/positive sum/);
    expect(() => mixStoredCpu([a, b], spec({ weights: [NaN, 1] }))).toThrow(/not a number/);
    expect(() =>
      mixStoredCpu([a, b], {
        mode: 'mean',
        layerWeights: [
          [1, 0],
          [0, 1],
        ],
      }),
    ).toThrow(/mean takes no weights/);
    // Free weights may extrapolate.
    const ex = mixStoredCpu([a, b], spec({ weights: [1.3, -0.3] }));
    const i = 5;
    const want = 1.3 * a.state.layers[0]!.ssm[i]! - 0.3 * b.state.layers[0]!.ssm[i]!;
    expect(ex.state.layers[0]!.ssm[i]).toBeCloseTo(want, 5);
  });
});
