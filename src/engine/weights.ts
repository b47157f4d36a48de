/**
 * Mamba-1 weights in host memory, shaped the way Hugging Face stores them, and the recurrent state. These
 * are the engine's plain-data interfaces: the CPU reference consumes them directly and the GPU model uploads
 * them. Matrices are row-major `[out, in]` as in `nn.Linear`.
 */
import type { MambaConfig } from '../model/config.ts';
import type { AnyMambaConfig } from '../model/family.ts';
import { mamba1Tensors } from '../model/architectures/mamba1.ts';
import { expectedTensorShapes } from '../model/config.ts';
import { ModelFormatError } from '../model/errors.ts';
import { stateGeometry } from './stateIO.ts';

export interface LayerWeights {
  norm: Float32Array; // [d_model]
  inProj: Float32Array; // [2·d_inner, d_model]
  inProjBias?: Float32Array; // [2·d_inner]
  convWeight: Float32Array; // [d_inner, d_conv]
  convBias?: Float32Array; // [d_inner]
  xProj: Float32Array; // [dt_rank + 2·d_state, d_inner]
  dtProj: Float32Array; // [d_inner, dt_rank]
  dtBias: Float32Array; // [d_inner]
  aLog: Float32Array; // [d_inner, d_state]
  d: Float32Array; // [d_inner]
  outProj: Float32Array; // [d_model, d_inner]
  outProjBias?: Float32Array; // [d_model]
}

export interface MambaWeights {
  config: MambaConfig;
  embedding: Float32Array; // [vocab, d_model]
  layers: LayerWeights[];
  normF: Float32Array; // [d_model]
  /** Present only for untied checkpoints; tied models use `embedding`. */
  lmHead?: Float32Array; // [vocab, d_model]
}

/** One layer's recurrent state. Layouts match the fixtures: conv `[d_inner, d_conv-1]` oldest first. */
export interface LayerState {
  conv: Float32Array; // [d_inner, d_conv-1]
  ssm: Float32Array; // [d_inner, d_state]
  /** Σ Δ over every token read since the zero state, per channel (what A-decay needs). */
  dtSum: Float32Array; // [d_inner]
}

export interface MambaState {
  layers: LayerState[];
}

/** The zero state of a model of either family (the sizes of stateIO.stateGeometry). */
export function zeroState(config: AnyMambaConfig): MambaState {
  const g = stateGeometry(config);
  return {
    layers: Array.from({ length: g.layers }, () => ({
      conv: new Float32Array(g.conv),
      ssm: new Float32Array(g.ssm),
      dtSum: new Float32Array(g.dtSum),
    })),
  };
}

export function cloneState(s: MambaState): MambaState {
  return {
    layers: s.layers.map((l) => ({ conv: l.conv.slice(), ssm: l.ssm.slice(), dtSum: l.dtSum.slice() })),
  };
}

/** Source of named f32 tensors (a safetensors file, a set of shards, generated weights). */
export interface TensorSource {
  has(name: string): boolean;
  shape(name: string): number[];
  float32(name: string): Float32Array;
}

/**
 * Gathers and shape-checks every tensor `config` requires. an untied LM head beside tied embeddings is
 * ignored; a missing or misshapen tensor is refused with its name and both shapes.
 */
export function weightsFromSource(
  config: MambaConfig,
  src: TensorSource,
  file = 'model.safetensors',
): MambaWeights {
  const expected = expectedTensorShapes(config);
  for (const [name, shape] of expected) {
    if (!src.has(name)) {
      throw new ModelFormatError(`${file} is missing tensor "${name}" that config.json requires.`);
    }
    const got = src.shape(name);
    // The embedding may be padded beyond vocab_size in some exports; everything else must match exactly.
    const same = got.length === shape.length && got.every((d, i) => d === shape[i]);
    if (!same) {
      throw new ModelFormatError(
        `${file}: tensor "${name}" has shape [${got.join(', ')}] but config.json implies [${shape.join(', ')}].`,
      );
    }
  }
  return assembleWeights(config, (n) => src.float32(n));
}

/**
 * Builds MambaWeights from a getter of tensors by Hugging Face name; optional tensors (biases, an untied
 * head) are asked for only when `config` has them. Shapes are the caller's to check.
 */
export function assembleWeights(config: MambaConfig, get: (name: string) => Float32Array): MambaWeights {
  const globals: Partial<Record<string, Float32Array>> = {};
  const layers = Array.from({ length: config.numLayers }, () => ({}) as Record<string, Float32Array>);
  for (const t of mamba1Tensors(config)) {
    if (t.layer === undefined) globals[t.spec.field] = get(t.name);
    else layers[t.layer]![t.spec.field] = get(t.name);
  }
  return {
    config,
    embedding: globals['embedding']!,
    layers: layers as unknown as LayerWeights[],
    normF: globals['normF']!,
    lmHead: globals['lmHead'],
  };
}

/** Every tensor `weights` holds, under its Hugging Face name (optional ones only when present). */
export function namedTensors(weights: MambaWeights): [string, Float32Array][] {
  const out: [string, Float32Array][] = [];
  const globals = weights as unknown as Partial<Record<string, Float32Array>>;
  // The layers present, whatever the config says (a caller may hold a truncated model).
  const config = { ...weights.config, numLayers: weights.layers.length };
  for (const t of mamba1Tensors(config, true)) {
    const holder =
      t.layer === undefined
        ? globals
        : (weights.layers[t.layer] as unknown as Partial<Record<string, Float32Array>> | undefined);
    const data = holder?.[t.spec.field];
    if (data) out.push([t.name, data]);
  }
  return out;
}
