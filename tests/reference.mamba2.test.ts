/**
 * The float64 Mamba-2 reference (src/engine/reference/mamba2.ts) against transformers 5.17's float64 outputs in
 * tests/fixtures/m2-tiny-a: logits within 1e-3 of max(1, max |want|), greedy continuations exact, a query
 * continued from a stored state; and the chunked (SSD) form of the scan against the token recurrence.
 */
import { describe, expect, it } from 'vitest';
import { mamba2Forward, mamba2Greedy, ssdChunked, ssdScan } from '../src/engine/reference/mamba2.ts';
import type { Mamba2State } from '../src/engine/mamba2Weights.ts';
import { relMaxDiff } from './helpers/fixtures.ts';
import { rng } from './helpers/gpu.ts';
import { loadMamba2Fixture } from './helpers/mamba2Fixture.ts';

describe('Mamba-2 reference against transformers (m2-tiny-b, m2-tiny-c)', () => {
  // b: n_groups 2, untied head, in/out_proj biases, no conv bias, Δ clamped to [0.02, 0.6], d_conv 3;
  // c: one head per group (n_groups 4), head_dim 24, d_conv 2, three layers; both have a one-token sequence.
  for (const name of ['m2-tiny-b', 'm2-tiny-c'] as const) {
    it(`${name}: every sequence's logits within 1e-3 and its greedy continuation exactly`, () => {
      const { weights, expected, sequences } = loadMamba2Fixture(name);
      expect(sequences).toContain('one');
      for (const seq of sequences) {
        const tokens = expected.int32(`${seq}.tokens`);
        const { logits } = mamba2Forward(weights, tokens);
        expect(relMaxDiff(logits, expected.float32(`${seq}.logits`)), seq).toBeLessThan(1e-3);
        expect(mamba2Greedy(weights, tokens, 24), seq).toEqual([...expected.int32(`${seq}.greedy`)]);
      }
    });
  }

  it("m2-tiny-b tells transformers' gated norm (all of d_inner) from mamba_ssm's (per group)", () => {
    const { weights, expected } = loadMamba2Fixture('m2-tiny-b');
    const c = weights.config;
    const tokens = expected.int32('long.tokens');
    const want = expected.float32('long.logits');
    const grouped = mamba2Forward(weights, tokens, undefined, c.intermediateSize / c.nGroups).logits;
    expect(relMaxDiff(grouped, want)).toBeGreaterThan(1e-2);
    expect(relMaxDiff(mamba2Forward(weights, tokens).logits, want)).toBeLessThan(1e-3);
  });
});

describe('Mamba-2 reference against transformers (m2-tiny-a)', () => {
  for (const seq of ['long', 'a', 'b', 'head']) {
    it(`${seq}: logits within 1e-3`, () => {
      const { weights, expected } = loadMamba2Fixture();
      const { logits } = mamba2Forward(weights, expected.int32(`${seq}.tokens`));
      const err = relMaxDiff(logits, expected.float32(`${seq}.logits`));
      expect(err).toBeLessThan(1e-3);
    });
  }

  for (const seq of ['long', 'a', 'b']) {
    it(`${seq}: the greedy continuation exactly`, () => {
      const { weights, expected } = loadMamba2Fixture();
      const got = mamba2Greedy(weights, expected.int32(`${seq}.tokens`), 24);
      expect(got).toEqual([...expected.int32(`${seq}.greedy`)]);
    });
  }

  it("mix: head's state mixed 0.5/0.5 with itself, continued with the query", () => {
    const { weights, expected } = loadMamba2Fixture();
    const [w0, w1] = expected.float32('mix.weights');
    const { state } = mamba2Forward(weights, expected.int32('head.tokens'));
    const mix = (a: Float64Array) => a.map((v) => w0! * v + w1! * v);
    const mixed: Mamba2State = {
      layers: state.layers.map((l) => ({ ssm: mix(l.ssm), conv: mix(l.conv), dtSum: mix(l.dtSum) })),
    };
    const { logits } = mamba2Forward(weights, expected.int32('mix.query_tokens'), mixed);
    expect(relMaxDiff(logits, expected.float32('mix.query_logits'))).toBeLessThan(1e-3);
  });
});

describe('SSD scan: chunked form against the recurrence', () => {
  // Two groups of two heads, a chunk size that does not divide T, a clamp that bites, a non-zero start.
  const dims = { numHeads: 4, headDim: 3, nGroups: 2, stateSize: 5 };
  const T = 11;
  const next = rng(3);
  const r = (n: number) => Float64Array.from({ length: n }, () => next() * 2 - 1);
  const di = dims.numHeads * dims.headDim;
  const xbc = r(T * (di + 2 * dims.nGroups * dims.stateSize));
  const dt = r(T * 6).map((v) => 3 * v);
  const p = { dtBias: r(4), aLog: r(4), d: r(4), timeStepLimit: [0.05, 1.5] as const };
  const start = () => ({ ssm: r(di * dims.stateSize), dtSum: r(4) });
  for (const Q of [1, 4, 16]) {
    it(`chunk ${Q}: the same outputs, final state and Σ Δ`, () => {
      const a = start();
      const b = { ssm: a.ssm.slice(), dtSum: a.dtSum.slice() };
      const ya = ssdScan(xbc, dt, 6, 1, T, dims, p, a);
      const yb = ssdChunked(xbc, dt, 6, 1, T, Q, dims, p, b);
      expect(relMaxDiff(yb, ya)).toBeLessThan(1e-12);
      expect(relMaxDiff(b.ssm, a.ssm)).toBeLessThan(1e-12);
      expect(relMaxDiff(b.dtSum, a.dtSum)).toBeLessThan(1e-12);
    });
  }
});
