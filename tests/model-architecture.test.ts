/**
 * The Mamba-1 architecture table (src/model/architectures/mamba1.ts) against the Hugging Face layout written
 * out by hand here: names and shapes in checkpoint order, optional tensors by config, and name lookups.
 */
import { describe, expect, it } from 'vitest';
import { aLogLayer, EMBEDDING_NAME, LM_HEAD_NAME, mamba1Tensor } from '../src/model/architectures/mamba1.ts';
import { expectedTensorShapes, type MambaConfig } from '../src/model/config.ts';

const tiny: MambaConfig = {
  vocabSize: 50,
  hiddenSize: 8,
  numLayers: 2,
  stateSize: 4,
  convKernel: 3,
  intermediateSize: 16,
  timeStepRank: 2,
  useConvBias: true,
  useBias: false,
  layerNormEpsilon: 1e-5,
  tieWordEmbeddings: true,
};

function layer(l: number, c: { bias: boolean; convBias: boolean }): [string, number[]][] {
  const p = `backbone.layers.${l}.`;
  const out: [string, number[]][] = [
    [`${p}norm.weight`, [8]],
    [`${p}mixer.in_proj.weight`, [32, 8]],
  ];
  if (c.bias) out.push([`${p}mixer.in_proj.bias`, [32]]);
  out.push([`${p}mixer.conv1d.weight`, [16, 1, 3]]);
  if (c.convBias) out.push([`${p}mixer.conv1d.bias`, [16]]);
  out.push(
    [`${p}mixer.x_proj.weight`, [2 + 2 * 4, 16]],
    [`${p}mixer.dt_proj.weight`, [16, 2]],
    [`${p}mixer.dt_proj.bias`, [16]],
    [`${p}mixer.A_log`, [16, 4]],
    [`${p}mixer.D`, [16]],
    [`${p}mixer.out_proj.weight`, [8, 16]],
  );
  if (c.bias) out.push([`${p}mixer.out_proj.bias`, [8]]);
  return out;
}

describe('Mamba-1 architecture table', () => {
  it('lists every tensor with its shape, in checkpoint order (tied, conv bias, no linear biases)', () => {
    expect([...expectedTensorShapes(tiny)]).toEqual([
      ['backbone.embeddings.weight', [50, 8]],
      ...layer(0, { bias: false, convBias: true }),
      ...layer(1, { bias: false, convBias: true }),
      ['backbone.norm_f.weight', [8]],
    ]);
  });

  it('adds the linear biases and the untied head, drops the conv bias, as the config says', () => {
    const c = { ...tiny, useBias: true, useConvBias: false, tieWordEmbeddings: false };
    expect([...expectedTensorShapes(c)]).toEqual([
      ['backbone.embeddings.weight', [50, 8]],
      ...layer(0, { bias: true, convBias: false }),
      ...layer(1, { bias: true, convBias: false }),
      ['backbone.norm_f.weight', [8]],
      ['lm_head.weight', [50, 8]],
    ]);
  });

  it('looks names up to their kind and layer', () => {
    expect(mamba1Tensor('backbone.layers.11.mixer.x_proj.weight')).toMatchObject({
      layer: 11,
      spec: { kind: 'matrix', field: 'xProj' },
    });
    expect(mamba1Tensor('backbone.norm_f.weight')?.layer).toBeUndefined();
    expect(mamba1Tensor('backbone.layers.0.mixer.q_proj.weight')).toBeUndefined();
    expect(mamba1Tensor('model.embed_tokens.weight')).toBeUndefined();
    expect(aLogLayer('backbone.layers.7.mixer.A_log')).toBe(7);
    expect(aLogLayer('backbone.layers.7.mixer.D')).toBeUndefined();
    expect(EMBEDDING_NAME).toBe('backbone.embeddings.weight');
    expect(LM_HEAD_NAME).toBe('lm_head.weight');
  });
});
