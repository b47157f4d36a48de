/**
 * The Hugging Face tensor names that both Mamba families share (transformers' MambaForCausalLM and
 * Mamba2ForCausalLM lay their checkpoints out alike): written here once, and used by each family's table
 * (mamba1.ts, mamba2.ts). A name only one family has is written in that family's table.
 */

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
