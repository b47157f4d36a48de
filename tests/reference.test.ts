import { describe, expect, it } from 'vitest';
import { loadFixture, relMaxDiff } from './helpers/fixtures.ts';
import { referenceForward } from '../src/engine/reference/mamba.ts';

describe('CPU reference against transformers fixtures', () => {
  for (const name of ['tiny-a', 'tiny-b'] as const) {
    it(`${name}: logits, states and Σ Δ within 1e-3`, () => {
      const fx = loadFixture(name);
      for (const seq of fx.sequences) {
        const tokens = fx.expected.int32(`${seq}.tokens`);
        const { logits, state } = referenceForward(fx.weights, tokens);
        expect(relMaxDiff(logits, fx.expected.float32(`${seq}.logits`))).toBeLessThan(1e-3);
        state.layers.forEach((ls, l) => {
          expect(relMaxDiff(ls.ssm, fx.expected.float32(`${seq}.ssm_state.${l}`))).toBeLessThan(1e-3);
          expect(relMaxDiff(ls.conv, fx.expected.float32(`${seq}.conv_state.${l}`))).toBeLessThan(1e-3);
          expect(relMaxDiff(ls.dtSum, fx.expected.float32(`${seq}.dt_sum.${l}`))).toBeLessThan(1e-3);
        });
      }
    });
  }
});
