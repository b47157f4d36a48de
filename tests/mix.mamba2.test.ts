/**
 * What A-decay means for Mamba-2, checked against the recurrence itself (the float64 reference of
 * src/engine/reference/mamba2.ts, which reproduces transformers' fixtures): read chunk 1 from zero, then chunk 2
 * from a state that has chunk 1's conv window but a zero SSM state. Layer 0's inputs (the embeddings) and, with
 * the conv window carried, its x, B, C and Δ are then exactly those of reading both chunks in one pass, so by
 * linearity its SSM state after both is exp(A_h · ΣΔ_2,h) · h_1 + h_2 with one scalar A per head: what the mixer's
 * A-decay computes. Deeper layers see other inputs, so there it is the approximation the paper describes.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mixStoredCpu } from '../src/engine/states/mix.ts';
import { exportStateFile } from '../src/engine/states/stateFile.ts';
import { mamba2Forward } from '../src/engine/reference/mamba2.ts';
import { decayRates, mixStatesCpu } from '../src/engine/states/cpuMix.ts';
import { planMix } from '../src/engine/states/mixSpec.ts';
import type { MambaState } from '../src/engine/weights.ts';
import { rankStates, retrieveAndMix } from '../src/engine/states/retrieval.ts';
import { StateMismatchError, shapeOfConfig, type StoredState } from '../src/engine/states/types.ts';
import { FIXTURES_DIR, relMaxDiff } from './helpers/fixtures.ts';
import { loadMamba2Fixture, type Mamba2FixtureName } from './helpers/mamba2Fixture.ts';

const f32State = (s: {
  layers: { ssm: ArrayLike<number>; conv: ArrayLike<number>; dtSum: ArrayLike<number> }[];
}) =>
  ({
    layers: s.layers.map((l) => ({
      ssm: Float32Array.from(l.ssm),
      conv: Float32Array.from(l.conv),
      dtSum: Float32Array.from(l.dtSum),
    })),
  }) satisfies MambaState;

describe('Mamba-2 A-decay against the recurrence', () => {
  const cases: [Mamba2FixtureName, string][] = [
    ['m2-tiny-b', 'n_groups 2, d_conv 3, Δ clamped to [0.02, 0.6]'],
    ['m2-tiny-c', '4 heads × 24, n_groups 4, d_conv 2'],
  ];
  for (const [name, what] of cases) {
    it(`${name} (${what}): layer 0 of A-decay(h_1, h_2) is the state of reading both (1e-5), and Σ Δ adds up`, () => {
      const fx = loadMamba2Fixture(name);
      const tokens = Array.from(fx.expected.int32('long.tokens'));
      const cut = Math.floor(tokens.length / 2);
      const first = mamba2Forward(fx.weights, tokens.slice(0, cut)).state;
      // Chunk 2 from chunk 1's conv window and nothing else.
      const carried = {
        layers: first.layers.map((l) => ({
          ssm: new Float64Array(l.ssm.length),
          conv: l.conv,
          dtSum: new Float64Array(l.dtSum.length),
        })),
      };
      const second = mamba2Forward(fx.weights, tokens.slice(cut), carried).state;
      const both = mamba2Forward(fx.weights, tokens).state;
      const aLogs = fx.weights.layers.map((l) => l.aLog);
      const mixed = mixStatesCpu(
        [f32State(first), f32State(second)],
        planMix({ mode: 'adecay' }, 2, fx.weights.layers.length),
        decayRates(aLogs),
      );
      const d0 = relMaxDiff(mixed.layers[0]!.ssm, both.layers[0]!.ssm);
      const deeper = mixed.layers.slice(1).map((l, i) => relMaxDiff(l.ssm, both.layers[i + 1]!.ssm));
      console.log(
        `[mix.mamba2] ${name}: layer 0 ${d0.toExponential(2)}; deeper layers (approximate) ${deeper.map((d) => d.toExponential(1)).join(', ')}`,
      );
      expect(d0).toBeLessThan(1e-5);
      // Σ Δ of the composition is the chunks' sum per head (at layer 0 the whole text's); the conv window is
      // chunk 2's.
      expect(relMaxDiff(mixed.layers[0]!.dtSum, both.layers[0]!.dtSum)).toBeLessThan(1e-6);
      mixed.layers.forEach((l, i) => {
        expect(l.dtSum.length).toBe(fx.weights.config.numHeads);
        const sum = first.layers[i]!.dtSum.map((x, h) => x + second.layers[i]!.dtSum[h]!);
        expect(relMaxDiff(l.dtSum, sum)).toBeLessThan(1e-6);
        expect(relMaxDiff(l.conv, Float32Array.from(second.layers[i]!.conv))).toBe(0);
      });
    });
  }

  it('a per-element A (the Mamba-1 reading) would be wrong here: A_log has one value per head', () => {
    const fx = loadMamba2Fixture('m2-tiny-c');
    expect(fx.weights.layers[0]!.aLog.length).toBe(fx.weights.config.numHeads);
    const s = f32State(mamba2Forward(fx.weights, [1, 2, 3]).state);
    const wrong = [new Float32Array(s.layers[0]!.dtSum.length + 1)];
    expect(() =>
      mixStatesCpu([s, s], planMix({ mode: 'adecay' }, 2, 3), [...wrong, ...wrong, ...wrong]),
    ).toThrow(/A_log has 5 values per layer/);
  });
});

describe('retrieval over Mamba-2 states', () => {
  const fx = loadMamba2Fixture('m2-tiny-c');
  const shape = shapeOfConfig(fx.weights.config);
  const tokens = Array.from(fx.expected.int32('long.tokens'));
  const stored = (id: string, toks: number[]): StoredState => ({
    meta: {
      id,
      name: id,
      modelId: 'm2-tiny-c',
      weightsHash: 'fixture',
      shape,
      text: '',
      tokenIds: toks,
      tokenCount: toks.length,
      createdAt: 0,
    },
    state: f32State(mamba2Forward(fx.weights, toks).state),
  });
  const library = [
    stored('head', tokens.slice(0, 20)),
    stored('tail', tokens.slice(25)),
    stored('mid', tokens.slice(10, 30)),
  ];

  it('ranks by cosine over the per-head states (a state is most like itself) and mixes the top k', () => {
    for (const layer of [0, 2, 'all'] as const) {
      const hits = rankStates(library[1]!, library, { metric: 'cosine', layer });
      expect(hits[0]!.state.meta.id).toBe('tail');
      expect(hits[0]!.score).toBeCloseTo(1, 6);
    }
    const r = retrieveAndMix(library[0]!, library, { metric: 'l2', layer: 'all', k: 2, tau: 0.5 });
    expect(r.mixed.meta.shape).toEqual(shape);
    expect(r.mixed.state.layers[0]!.dtSum.length).toBe(fx.weights.config.numHeads);
  });

  it('refuses a Mamba-1 state of the same sizes as a query: the shapes are of two families', () => {
    const m1 = {
      ...library[0]!,
      meta: { ...library[0]!.meta, shape: { layers: 3, dInner: 96, dState: 12, convWidth: 1 } },
    };
    expect(() => rankStates(m1, library, { metric: 'cosine', layer: 0 })).toThrow(StateMismatchError);
  });
});

/** The sources of a fixture's mix, as stored states, from the per-sequence states transformers' cache held. */
function fixtureSources(name: 'm2-tiny-d' | 'm2-tiny-e'): StoredState[] {
  const fx = loadMamba2Fixture(name);
  const shape = shapeOfConfig(fx.weights.config);
  return Array.from(fx.expected.int32('mix.sources')).map((i) => {
    const seq = fx.sequences[i]!;
    const toks = Array.from(fx.expected.int32(`${seq}.tokens`));
    return {
      meta: {
        id: seq,
        name: seq,
        modelId: name,
        weightsHash: 'fixture',
        shape,
        text: '',
        tokenIds: toks,
        tokenCount: toks.length,
        createdAt: 0,
      },
      state: {
        layers: fx.weights.layers.map((_, l) => ({
          ssm: fx.expected.float32(`${seq}.ssm_state.${l}`),
          conv: fx.expected.float32(`${seq}.conv_state.${l}`),
          dtSum: fx.expected.float32(`${seq}.dt_sum.${l}`),
        })),
      },
    };
  });
}

describe('Mamba-2 mixes against transformers (m2-tiny-d: 3 sources, n_groups 2, d_conv 3; m2-tiny-e: 2 sources, decode)', () => {
  for (const name of ['m2-tiny-d', 'm2-tiny-e'] as const) {
    it(`${name}: A-decay equals adecay.ssm_state (1e-5); the exported mixes continue to mix/adecay.query_logits by the cache recipe (1e-3)`, () => {
      const fx = loadMamba2Fixture(name);
      const sources = fixtureSources(name);
      const aLogs = fx.weights.layers.map((l) => l.aLog);
      const ad = mixStoredCpu(sources, { mode: 'adecay' }, aLogs);
      ad.state.layers.forEach((l, i) => {
        const d = relMaxDiff(l.ssm, fx.expected.float32(`adecay.ssm_state.${i}`));
        console.log(
          `[mix.mamba2] ${name} adecay layer ${i}: ${d.toExponential(2)} from transformers' composition`,
        );
        expect(d).toBeLessThan(1e-5);
        expect(relMaxDiff(l.conv, sources.at(-1)!.state.layers[i]!.conv)).toBe(0);
      });
      const weighted = mixStoredCpu(sources, {
        mode: 'weighted',
        weights: Array.from(fx.expected.float32('mix.weights')),
      });
      const dir = mkdtempSync(join(tmpdir(), 'mix-m2-'));
      for (const [which, mixed] of [
        ['mix', weighted],
        ['adecay', ad],
      ] as const) {
        writeFileSync(join(dir, `${which}.safetensors`), exportStateFile([mixed]));
        const out = execFileSync(
          'python3',
          [
            join(import.meta.dirname, 'py/continue_like_hf_mamba2.py'),
            join(dir, `${which}.safetensors`),
            join(FIXTURES_DIR, name),
            which,
          ],
          { encoding: 'utf8' },
        );
        const { rel_max_diff: d } = JSON.parse(out) as { rel_max_diff: number };
        console.log(
          `[mix.mamba2] ${name} ${which}: continued in numpy vs transformers' ${which}.query_logits ${d.toExponential(2)}`,
        );
        expect(d).toBeLessThan(1e-3);
      }
    });
  }
});
