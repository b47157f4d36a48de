/**
 * Mamba-1 in the Hugging Face layout (transformers' MambaForCausalLM, e.g. state-spaces/mamba-130m-hf): the
 * one place its tensor names and shapes are written (the entries Mamba-2 shares, from hfNames.ts, with the
 * widths given here). d_inner = intermediateSize, dt_rank = timeStepRank.
 */
import type { MambaConfig } from '../config.ts';
import {
  HF_LAYER,
  hfInputTensors,
  hfLayerPrefix,
  hfMatrixInit,
  hfOutputTensors,
  hfSplitLayer,
} from './hfNames.ts';
import { globalName, lookupTensor, tensorShapes, tensorsOf, type Architecture } from './types.ts';

/** Fields of one layer's host weights (src/engine/weights.ts LayerWeights). */
export type Mamba1LayerField =
  | 'norm'
  | 'inProj'
  | 'inProjBias'
  | 'convWeight'
  | 'convBias'
  | 'xProj'
  | 'dtProj'
  | 'dtBias'
  | 'aLog'
  | 'd'
  | 'outProj'
  | 'outProjBias';
/** Fields of the model's host weights (src/engine/weights.ts MambaWeights). */
export type Mamba1GlobalField = 'embedding' | 'normF' | 'lmHead';

export const MAMBA1: Architecture<MambaConfig, Mamba1LayerField | Mamba1GlobalField> = {
  modelType: 'mamba',
  layerPrefix: hfLayerPrefix,
  splitLayer: hfSplitLayer,
  numLayers: (c) => c.numLayers,
  tensors: [
    ...hfInputTensors<MambaConfig>({
      inProjRows: (c) => 2 * c.intermediateSize,
      convChannels: (c) => c.intermediateSize,
    }),
    {
      name: 'mixer.x_proj.weight',
      scope: 'layer',
      kind: 'matrix',
      shape: (c) => [c.timeStepRank + 2 * c.stateSize, c.intermediateSize],
      field: 'xProj',
      init: hfMatrixInit,
    },
    {
      name: 'mixer.dt_proj.weight',
      scope: 'layer',
      kind: 'dtProj',
      shape: (c) => [c.intermediateSize, c.timeStepRank],
      field: 'dtProj',
      init: { uniform: (c) => 1 / Math.sqrt(c.timeStepRank) },
    },
    {
      name: 'mixer.dt_proj.bias',
      scope: 'layer',
      kind: 'dtBias',
      shape: (c) => [c.intermediateSize],
      field: 'dtBias',
      init: 'dtBias',
    },
    {
      name: HF_LAYER.aLog,
      scope: 'layer',
      kind: 'A_log',
      shape: (c) => [c.intermediateSize, c.stateSize],
      field: 'aLog',
      init: 'aLog',
    },
    {
      name: HF_LAYER.d,
      scope: 'layer',
      kind: 'D',
      shape: (c) => [c.intermediateSize],
      field: 'd',
      init: 'ones',
    },
    ...hfOutputTensors<MambaConfig>(),
  ],
};

/** Mamba-1's tensors for `config` with their shapes, keyed by Hugging Face name, in checkpoint order. */
export function mamba1Shapes(config: MambaConfig): Map<string, number[]> {
  return tensorShapes(MAMBA1, config);
}

/** Mamba-1's tensors for `config`, each with its spec and layer, in checkpoint order (see tensorsOf). */
export function mamba1Tensors(config: MambaConfig, includeOptional = false) {
  return tensorsOf(MAMBA1, config, includeOptional);
}

/** The spec and layer of a Mamba-1 tensor name, or undefined. */
export function mamba1Tensor(name: string) {
  return lookupTensor(MAMBA1, name);
}

/** The layer whose A_log `name` is, or undefined (mixing needs A_log on the host, so loaders keep it). */
export function aLogLayer(name: string): number | undefined {
  const t = mamba1Tensor(name);
  return t?.spec.kind === 'A_log' ? t.layer : undefined;
}

/** The token embedding's name. */
export const EMBEDDING_NAME = globalName(MAMBA1, 'embedding');
/** The untied LM head's name. */
export const LM_HEAD_NAME = globalName(MAMBA1, 'lmHead');
