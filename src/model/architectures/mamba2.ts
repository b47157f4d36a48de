/**
 * Mamba-2 in the Hugging Face layout (transformers' Mamba2ForCausalLM): the second architecture table, in the
 * form of mamba1.ts. The entries shared with Mamba-1 come from hfNames.ts (with the widths given here); the
 * Mamba-2-only ones (dt_bias, the gated norm's weight) and the per-head A_log and D are written here.
 * H = num_heads, d_inner = num_heads · head_dim, convDim = d_inner + 2 · n_groups · state_size (x, B and C
 * through one conv), in_proj rows = z, x, B, C, dt.
 */
import type { Mamba2Config } from '../mamba2Config.ts';
import { HF_LAYER, hfInputTensors, hfLayerPrefix, hfOutputTensors, hfSplitLayer } from './hfNames.ts';
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

export const MAMBA2: Architecture<Mamba2Config, Mamba2Field> = {
  modelType: 'mamba2',
  layerPrefix: hfLayerPrefix,
  splitLayer: hfSplitLayer,
  numLayers: (c) => c.numLayers,
  tensors: [
    ...hfInputTensors<Mamba2Config>({ inProjRows: (c) => c.inProjSize, convChannels: (c) => c.convDim }),
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
    ...hfOutputTensors<Mamba2Config>(),
  ],
};

/** Mamba-2's tensors for `config` with their shapes, keyed by Hugging Face name, in checkpoint order. */
export function mamba2Shapes(config: Mamba2Config): Map<string, number[]> {
  return tensorShapes(MAMBA2, config);
}
