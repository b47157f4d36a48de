/**
 * Mamba-2 in the Hugging Face layout (transformers' Mamba2ForCausalLM): the second architecture table, in the
 * form of mamba1.ts. Names shared with Mamba-1 come from hfNames.ts; the two Mamba-2-only names (dt_bias and
 * the gated norm's weight) are written here. H = num_heads, d_inner = num_heads · head_dim, convDim = d_inner
 * + 2 · n_groups · state_size (x, B and C through one conv), in_proj rows = z, x, B, C, dt.
 */
import type { Mamba2Config } from '../mamba2Config.ts';
import { HF_EMBEDDING, HF_LAYER, HF_LM_HEAD, HF_NORM_F, hfLayerPrefix, hfSplitLayer } from './hfNames.ts';
import { tensorShapes, type Architecture } from './types.ts';

export type Mamba2Field =
  | 'embedding'
  | 'normF'
  | 'lmHead'
  | 'norm'
  | 'inProj'
  | 'inProjBias'
  | 'convWeight'
  | 'convBias'
  | 'dtBias'
  | 'aLog'
  | 'd'
  | 'gateNorm'
  | 'outProj'
  | 'outProjBias';

const matrixInit = { uniform: () => 0.02 * Math.sqrt(3) };
const convInit = { uniform: (c: Mamba2Config) => 1 / Math.sqrt(c.convKernel) };
const bias = (c: Mamba2Config) => c.useBias;

export const MAMBA2: Architecture<Mamba2Config, Mamba2Field> = {
  modelType: 'mamba2',
  layerPrefix: hfLayerPrefix,
  splitLayer: hfSplitLayer,
  numLayers: (c) => c.numLayers,
  tensors: [
    {
      name: HF_EMBEDDING,
      scope: 'global',
      kind: 'embedding',
      shape: (c) => [c.vocabSize, c.hiddenSize],
      field: 'embedding',
      init: matrixInit,
    },
    {
      name: HF_LAYER.norm,
      scope: 'layer',
      kind: 'norm',
      shape: (c) => [c.hiddenSize],
      field: 'norm',
      init: 'ones',
    },
    {
      name: HF_LAYER.inProj,
      scope: 'layer',
      kind: 'matrix',
      shape: (c) => [c.inProjSize, c.hiddenSize],
      field: 'inProj',
      init: matrixInit,
    },
    {
      name: HF_LAYER.inProjBias,
      scope: 'layer',
      kind: 'bias',
      shape: (c) => [c.inProjSize],
      when: bias,
      field: 'inProjBias',
      init: 'zeros',
    },
    {
      name: HF_LAYER.conv,
      scope: 'layer',
      kind: 'conv',
      shape: (c) => [c.convDim, 1, c.convKernel],
      field: 'convWeight',
      init: convInit,
    },
    {
      name: HF_LAYER.convBias,
      scope: 'layer',
      kind: 'convBias',
      shape: (c) => [c.convDim],
      when: (c) => c.useConvBias,
      field: 'convBias',
      init: convInit,
    },
    {
      name: 'mixer.dt_bias',
      scope: 'layer',
      kind: 'dtBias',
      shape: (c) => [c.numHeads],
      field: 'dtBias',
      init: 'dtBias',
    },
    {
      name: HF_LAYER.aLog,
      scope: 'layer',
      kind: 'A_log',
      shape: (c) => [c.numHeads],
      field: 'aLog',
      init: 'aLog',
    },
    { name: HF_LAYER.d, scope: 'layer', kind: 'D', shape: (c) => [c.numHeads], field: 'd', init: 'ones' },
    {
      name: 'mixer.norm.weight',
      scope: 'layer',
      kind: 'norm',
      shape: (c) => [c.intermediateSize],
      field: 'gateNorm',
      init: 'ones',
    },
    {
      name: HF_LAYER.outProj,
      scope: 'layer',
      kind: 'matrix',
      shape: (c) => [c.hiddenSize, c.intermediateSize],
      field: 'outProj',
      init: matrixInit,
    },
    {
      name: HF_LAYER.outProjBias,
      scope: 'layer',
      kind: 'bias',
      shape: (c) => [c.hiddenSize],
      when: bias,
      field: 'outProjBias',
      init: 'zeros',
    },
    {
      name: HF_NORM_F,
      scope: 'global',
      kind: 'norm',
      shape: (c) => [c.hiddenSize],
      field: 'normF',
      init: 'ones',
    },
    {
      name: HF_LM_HEAD,
      scope: 'global',
      kind: 'lmHead',
      shape: (c) => [c.vocabSize, c.hiddenSize],
      when: (c) => !c.tieWordEmbeddings,
      field: 'lmHead',
      init: matrixInit,
    },
  ],
};

/** Mamba-2's tensors for `config` with their shapes, keyed by Hugging Face name, in checkpoint order. */
export function mamba2Shapes(config: Mamba2Config): Map<string, number[]> {
  return tensorShapes(MAMBA2, config);
}
