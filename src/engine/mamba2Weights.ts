/**
 * Mamba-2 weights in host memory as Hugging Face stores them, and the engine's Mamba-2 recurrent state. These
 * are plain data: the float64 reference (reference/mamba2.ts) consumes them directly and the GPU side uploads
 * them. Matrices are row-major `[out, in]` as in `nn.Linear`.
 *
 * The state layout is the engine's (transformers keeps a conv window of d_conv inputs; this keeps the d_conv−1
 * that the next token needs, as the Mamba-1 engine does), per layer:
 *   ssm    [num_heads, head_dim, state_size]        h, as transformers' recurrent_states without the batch
 *   conv   [d_inner + 2·n_groups·state_size, d_conv−1]  the last inputs of the conv (x, B, C before it), oldest first
 *   dtSum  [num_heads]                              Σ Δ over every token read since the zero state
 */
import { MAMBA2 } from '../model/architectures/mamba2.ts';
import { tensorsOf } from '../model/architectures/types.ts';
import { checkMamba2Tensors, type Mamba2Config } from '../model/mamba2Config.ts';
import type { TensorSource } from './weights.ts';

export interface Mamba2LayerWeights {
  norm: Float32Array; // [hidden]
  inProj: Float32Array; // [d_inner + convDim + num_heads, hidden]: z | x B C | dt
  inProjBias?: Float32Array;
  convWeight: Float32Array; // [convDim, d_conv]
  convBias?: Float32Array; // [convDim]
  dtBias: Float32Array; // [num_heads]
  aLog: Float32Array; // [num_heads]
  d: Float32Array; // [num_heads]
  /** The gated RMSNorm's weight [d_inner]. */
  gateNorm: Float32Array;
  outProj: Float32Array; // [hidden, d_inner]
  outProjBias?: Float32Array;
}

export interface Mamba2Weights {
  config: Mamba2Config;
  embedding: Float32Array; // [vocab, hidden]
  layers: Mamba2LayerWeights[];
  normF: Float32Array; // [hidden]
  /** Present only for untied checkpoints; tied models use `embedding`. */
  lmHead?: Float32Array; // [vocab, hidden]
}

export type FloatArray = Float32Array | Float64Array;

export interface Mamba2LayerState<A extends FloatArray = FloatArray> {
  ssm: A; // [num_heads, head_dim, state_size]
  conv: A; // [convDim, d_conv-1]
  dtSum: A; // [num_heads]
}

export interface Mamba2State<A extends FloatArray = FloatArray> {
  layers: Mamba2LayerState<A>[];
}

/** Element counts of one layer's state tensors. */
export function mamba2StateSizes(c: Mamba2Config): { ssm: number; conv: number; dtSum: number } {
  return {
    ssm: c.numHeads * c.headDim * c.stateSize,
    conv: c.convDim * (c.convKernel - 1),
    dtSum: c.numHeads,
  };
}

export function zeroMamba2State(c: Mamba2Config): Mamba2State<Float64Array> {
  const s = mamba2StateSizes(c);
  return {
    layers: Array.from({ length: c.numLayers }, () => ({
      ssm: new Float64Array(s.ssm),
      conv: new Float64Array(s.conv),
      dtSum: new Float64Array(s.dtSum),
    })),
  };
}

/** A float64 copy of `s` (which is left untouched). */
export function cloneMamba2State(s: Mamba2State): Mamba2State<Float64Array> {
  return {
    layers: s.layers.map((l) => ({
      ssm: Float64Array.from(l.ssm),
      conv: Float64Array.from(l.conv),
      dtSum: Float64Array.from(l.dtSum),
    })),
  };
}

/** Shape-checks every tensor `config` requires (one line naming the first problem) and gathers them. */
export function mamba2WeightsFromSource(
  config: Mamba2Config,
  src: TensorSource,
  file = 'model.safetensors',
): Mamba2Weights {
  checkMamba2Tensors(config, (n) => (src.has(n) ? src.shape(n) : undefined), file);
  // Every tensor the config has, gathered into the field its table entry names (absent optional ones stay so).
  const layers = Array.from({ length: config.numLayers }, () => ({}) as Record<string, Float32Array>);
  const globals: Record<string, Float32Array> = {};
  for (const t of tensorsOf(MAMBA2, config)) {
    (t.layer === undefined ? globals : layers[t.layer]!)[t.spec.field] = src.float32(t.name);
  }
  return {
    config,
    embedding: globals['embedding']!,
    layers: layers as unknown as Mamba2LayerWeights[],
    normF: globals['normF']!,
    lmHead: globals['lmHead'],
  };
}

/** Every tensor `weights` holds, under its Hugging Face name (optional ones only when the config has them). */
export function mamba2NamedTensors(weights: Mamba2Weights): [string, Float32Array][] {
  const globals = weights as unknown as Partial<Record<string, Float32Array>>;
  return tensorsOf(MAMBA2, weights.config).flatMap((t) => {
    const holder =
      t.layer === undefined
        ? globals
        : (weights.layers[t.layer] as unknown as Partial<Record<string, Float32Array>>);
    const data = holder[t.spec.field];
    return data ? [[t.name, data] as [string, Float32Array]] : [];
  });
}
