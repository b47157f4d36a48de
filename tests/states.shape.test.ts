/** State shapes of both families: sizes, the rows × cols view A-decay and the inspector use, and comparisons. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseMamba2ConfigText } from '../src/model/mamba2Config.ts';
import { loadFixture } from './helpers/fixtures.ts';
import { modelInfoOf } from '../src/worker/model-info.ts';
import {
  convChannels,
  describeShape,
  layerStateSizes,
  sameShape,
  shapeFamily,
  shapeMismatch,
  shapeOfConfig,
  shapeProblem,
  ssmGrid,
  stateBytes,
  type Mamba2StateShape,
  type StateShape,
} from '../src/engine/states/types.ts';
import { randomState } from './mix-helpers.ts';

const m2a = parseMamba2ConfigText(readFileSync('tests/fixtures/m2-tiny-a/config.json', 'utf8'));
const m2b = parseMamba2ConfigText(readFileSync('tests/fixtures/m2-tiny-b/config.json', 'utf8'));

function mamba2Shape(c: typeof m2a): Mamba2StateShape {
  const s = shapeOfConfig(c);
  if (s.family !== 'mamba2') throw new Error('a Mamba-2 config gave a Mamba-1 shape');
  return s;
}

/** The published sizes: mamba2-130m (24 × 768, 24 heads of 64, state 128) and mamba2-2.7b (64 × 2560, 80 heads). */
function m2Shape(layers: number, hidden: number): StateShape {
  const dInner = 2 * hidden;
  return {
    family: 'mamba2',
    layers,
    dInner,
    dState: 128,
    convWidth: 3,
    numHeads: dInner / 64,
    headDim: 64,
    nGroups: 1,
  };
}

describe('StateShape per family', () => {
  it('Mamba-1: the same value as before (no family field), rows d_inner × cols d_state', () => {
    const s = shapeOfConfig(loadFixture('tiny-a').weights.config);
    const c = loadFixture('tiny-a').weights.config;
    expect(s).toEqual({ layers: c.numLayers, dInner: c.intermediateSize, dState: c.stateSize, convWidth: 3 });
    expect(shapeFamily(s)).toBe('mamba1');
    expect(ssmGrid(s)).toEqual({ rows: c.intermediateSize, cols: c.stateSize });
    expect(layerStateSizes(s)).toEqual({
      ssm: c.intermediateSize * c.stateSize,
      conv: c.intermediateSize * 3,
      dtSum: c.intermediateSize,
    });
  });

  it('Mamba-2 (m2-tiny-a: 2 layers, 8 heads × 16, state 16, d_conv 4): rows are heads, Σ Δ one per head', () => {
    const s = shapeOfConfig(m2a);
    expect(s).toEqual({
      family: 'mamba2',
      layers: 2,
      dInner: 128,
      dState: 16,
      convWidth: 3,
      numHeads: 8,
      headDim: 16,
      nGroups: 1,
    });
    expect(ssmGrid(s)).toEqual({ rows: 8, cols: 16 * 16 });
    expect(convChannels(s)).toBe(128 + 2 * 16);
    expect(layerStateSizes(s)).toEqual({ ssm: 8 * 16 * 16, conv: 160 * 3, dtSum: 8 });
    expect(shapeProblem(s)).toBeUndefined();
  });

  it('Mamba-2 with n_groups 2 and d_conv 3 (m2-tiny-b): conv over x, B and C of both groups', () => {
    const s = shapeOfConfig(m2b);
    expect(convChannels(s)).toBe(64 + 2 * 2 * 8);
    expect(layerStateSizes(s).conv).toBe(96 * 2);
    expect(shapeMismatch(randomState(s, 3), s)).toBeUndefined();
    const other = randomState(shapeOfConfig(m2a), 3);
    expect(shapeMismatch(other, s)).toMatch(/SSM state has the wrong size|layers/);
  });

  it('never equal across families, even with the same d_inner × d_state', () => {
    const m2 = mamba2Shape(m2a);
    const m1: StateShape = { layers: 2, dInner: 128, dState: 16, convWidth: 3 };
    expect(sameShape(m1, m2)).toBe(false);
    expect(sameShape(m2, m1)).toBe(false);
    expect(sameShape(m2, { ...m2 })).toBe(true);
    expect(sameShape(m2, { ...m2, numHeads: 4, headDim: 32 })).toBe(false);
    expect(sameShape(m1, { ...m1, family: 'mamba1' })).toBe(true);
    expect(describeShape(m2)).toBe(
      'Mamba-2, 2 layers × 8 heads × head_dim 16 × state 16 (1 group, conv window 3)',
    );
    expect(describeShape(m1)).toBe('2 layers × d_inner 128 × d_state 16 (conv window 3)');
  });

  it('refuses inconsistent Mamba-2 sizes', () => {
    const s = mamba2Shape(m2a);
    expect(shapeProblem({ ...s, numHeads: 7 })).toMatch(/num_heads × head_dim/);
    expect(shapeProblem({ ...s, nGroups: 3 })).toMatch(/n_groups/);
    expect(shapeProblem({ ...s, layers: 0 })).toMatch(/positive/);
  });

  it('f32 bytes at the published sizes: mamba2-130m ≈ 19.4 MB, mamba2-2.7b ≈ 172 MB', () => {
    // Per layer: ssm heads·64·128 + conv (d_inner + 256)·3 + heads.
    expect(stateBytes(m2Shape(24, 768))).toBe(4 * 24 * (24 * 64 * 128 + (1536 + 256) * 3 + 24));
    expect(stateBytes(m2Shape(24, 768)) / 1e6).toBeCloseTo(19.39, 2);
    expect(stateBytes(m2Shape(64, 2560)) / 1e6).toBeCloseTo(171.92, 2);
  });

  it('model info (the page’s view of a loaded model) names the family and counts a Mamba-2 state’s bytes', () => {
    const facts = { id: 'm', precision: 'f32' as const, memoryBytes: 0, weightsHash: 'h', warnings: [] };
    const m2 = modelInfoOf(m2a, 'test', 'bytes', facts);
    expect(m2.family).toBe('mamba2');
    // m2-tiny-a, per layer: ssm 8·16·16, conv (128 + 2·16)·3, Σ Δ 8; 2 layers; f32.
    expect(m2.stateBytes).toBe(4 * 2 * (8 * 16 * 16 + 160 * 3 + 8));
    const c = loadFixture('tiny-a').weights.config;
    const m1 = modelInfoOf(c, 'test', 'bytes', facts);
    expect(m1.family).toBe('mamba1');
    // The Mamba-1 formula as it was: layers · d_inner · (d_state + d_conv) · 4.
    expect(m1.stateBytes).toBe(c.numLayers * c.intermediateSize * (c.stateSize + c.convKernel) * 4);
  });
});
