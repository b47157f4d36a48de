/**
 * The Hugging Face tensor names that both Mamba families share (transformers' MambaForCausalLM and
 * Mamba2ForCausalLM lay their checkpoints out alike): written here once, and used by each family's table
 * (mamba1.ts, mamba2.ts). A name only one family has is written in that family's table. The entries whose
 * shapes read the same config fields in both families are written here too (hfInputTensors,
 * hfOutputTensors), so that the two tables cannot drift apart on them.
 */
import type { TensorInit, TensorSpec } from './types.ts';

/** Global tensors. */
export const HF_EMBEDDING = 'backbone.embeddings.weight';
export const HF_NORM_F = 'backbone.norm_f.weight';
export const HF_LM_HEAD = 'lm_head.weight';

/** Per-layer tensors: the part after the layer prefix. */
export const HF_LAYER = {
  norm: 'norm.weight',
  inProj: 'mixer.in_proj.weight',
  inProjBias: 'mixer.in_proj.bias',
  conv: 'mixer.conv1d.weight',
  convBias: 'mixer.conv1d.bias',
  aLog: 'mixer.A_log',
  d: 'mixer.D',
  outProj: 'mixer.out_proj.weight',
  outProjBias: 'mixer.out_proj.bias',
} as const;

/** The name prefix of layer `l`'s tensors, ending in a dot. */
export const hfLayerPrefix = (l: number): string => `backbone.layers.${l}.`;

/** Parses a layer prefix back: the layer index and the rest of the name, or undefined. */
export function hfSplitLayer(name: string): { layer: number; rest: string } | undefined {
  const m = /^backbone\.layers\.(\d+)\.(.+)$/.exec(name);
  return m ? { layer: Number(m[1]), rest: m[2]! } : undefined;
}

/** The config fields the shared entries read; both families' parsed configs have them. */
export interface HfSharedDims {
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  convKernel: number;
  useBias: boolean;
  useConvBias: boolean;
  tieWordEmbeddings: boolean;
}

/** The host-weights fields of the shared entries. */
export type HfSharedField =
  | 'embedding'
  | 'norm'
  | 'inProj'
  | 'inProjBias'
  | 'convWeight'
  | 'convBias'
  | 'outProj'
  | 'outProjBias'
  | 'normF'
  | 'lmHead';

/** std 0.02, as transformers' init, for the projections and the embedding. */
export const hfMatrixInit = { uniform: () => 0.02 * Math.sqrt(3) };
/** nn.Conv1d's default init. */
const convInit: TensorInit<HfSharedDims> = { uniform: (c) => 1 / Math.sqrt(c.convKernel) };
const bias = (c: HfSharedDims) => c.useBias;

/**
 * The entries before the mixer's own: the embedding, then the layer's norm, in_proj and the depthwise conv
 * (with their optional biases), whose widths differ by family: in_proj's rows and the conv's channels.
 */
export function hfInputTensors<C extends HfSharedDims>(widths: {
  inProjRows: (c: C) => number;
  convChannels: (c: C) => number;
}): TensorSpec<C, HfSharedField>[] {
  const { inProjRows, convChannels } = widths;
  return [
    {
      name: HF_EMBEDDING,
      scope: 'global',
      kind: 'embedding',
      shape: (c) => [c.vocabSize, c.hiddenSize],
      field: 'embedding',
      init: hfMatrixInit,
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
      shape: (c) => [inProjRows(c), c.hiddenSize],
      field: 'inProj',
      init: hfMatrixInit,
    },
    {
      name: HF_LAYER.inProjBias,
      scope: 'layer',
      kind: 'bias',
      shape: (c) => [inProjRows(c)],
      when: bias,
      field: 'inProjBias',
      init: 'zeros',
    },
    {
      name: HF_LAYER.conv,
      scope: 'layer',
      kind: 'conv',
      shape: (c) => [convChannels(c), 1, c.convKernel],
      field: 'convWeight',
      init: convInit,
    },
    {
      name: HF_LAYER.convBias,
      scope: 'layer',
      kind: 'convBias',
      shape: (c) => [convChannels(c)],
      when: (c) => c.useConvBias,
      field: 'convBias',
      init: convInit,
    },
  ];
}

/** The entries after the mixer's own: out_proj (d_inner → d_model) and its bias, norm_f and the LM head. */
export function hfOutputTensors<C extends HfSharedDims>(): TensorSpec<C, HfSharedField>[] {
  return [
    {
      name: HF_LAYER.outProj,
      scope: 'layer',
      kind: 'matrix',
      shape: (c) => [c.hiddenSize, c.intermediateSize],
      field: 'outProj',
      init: hfMatrixInit,
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
      init: hfMatrixInit,
    },
  ];
}
