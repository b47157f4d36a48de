/**
 * The shape of an architecture table: every parameter tensor of a checkpoint family, by its Hugging Face
 * name, with its shape as a formula of the parsed config, its kind and when it is present. One table per
 * family (mamba1.ts; a Mamba-2 table takes the same form): config checks, weight names, hashing, random
 * weights, loader checks, memory estimates and weight placement all read it instead of spelling names out.
 */

/** What a tensor is; placement, random initialisation and error messages go by it. */
export type TensorKind =
  /** [vocab, d_model] token embedding (the LM head too when tied). */
  | 'embedding'
  /** [vocab, d_model] untied LM head. */
  | 'lmHead'
  /** RMSNorm weight. */
  | 'norm'
  /** A large projection, [out, in] as in nn.Linear (stored packed in f16 on the GPU). */
  | 'matrix'
  /** The bias of a projection. */
  | 'bias'
  /** Depthwise causal conv weight [channels, 1, kernel] and its bias. */
  | 'conv'
  | 'convBias'
  /** The small Δ projection [d_inner, dt_rank] and its bias (Δ = softplus(x · Wᵀ + b)). */
  | 'dtProj'
  | 'dtBias'
  /** log(−A), the SSM's decay. */
  | 'A_log'
  /** The skip connection's per-channel D. */
  | 'D';

/** How benchmark models with random weights fill a tensor (src/engine/randomWeights.ts). */
export type TensorInit<C> =
  | { uniform: (config: C) => number }
  | 'ones'
  | 'zeros'
  /** Inverse softplus of Δ log-uniform in [0.001, 0.1]. */
  | 'dtBias'
  /** log(1 .. d_state) per channel. */
  | 'aLog';

export interface TensorSpec<C, F extends string = string> {
  /** The Hugging Face name; for per-layer tensors the part after the layer prefix. */
  name: string;
  scope: 'global' | 'layer';
  kind: TensorKind;
  shape: (config: C) => number[];
  /** When the config has it; absent: always. */
  when?: (config: C) => boolean;
  /** The field that holds it in the host weights (the model's weights object, or one layer's). */
  field: F;
  init: TensorInit<C>;
}

export interface Architecture<C, F extends string = string> {
  /** config.json's model_type. */
  modelType: string;
  /** The name prefix of layer `l`'s tensors, ending in a dot. */
  layerPrefix: (l: number) => string;
  /** Parses a layer prefix back: the layer index and the rest of the name, or undefined. */
  splitLayer: (name: string) => { layer: number; rest: string } | undefined;
  numLayers: (config: C) => number;
  /** In checkpoint order; consecutive per-layer specs form the block repeated for every layer. */
  tensors: readonly TensorSpec<C, F>[];
}

/** One tensor of a concrete config. */
export interface NamedTensorSpec<C, F extends string = string> {
  name: string;
  spec: TensorSpec<C, F>;
  /** The layer of a per-layer tensor. */
  layer?: number;
}

/**
 * Every tensor `config` has, in checkpoint order (globals before the layers stay before them); with
 * `includeOptional`, also those its config leaves out (for walking weights that may carry them).
 */
export function tensorsOf<C, F extends string>(
  arch: Architecture<C, F>,
  config: C,
  includeOptional = false,
): NamedTensorSpec<C, F>[] {
  const out: NamedTensorSpec<C, F>[] = [];
  const specs = arch.tensors.filter((s) => includeOptional || !s.when || s.when(config));
  for (let i = 0; i < specs.length;) {
    if (specs[i]!.scope === 'global') {
      out.push({ name: specs[i]!.name, spec: specs[i]! });
      i++;
      continue;
    }
    let j = i;
    while (j < specs.length && specs[j]!.scope === 'layer') j++;
    for (let l = 0; l < arch.numLayers(config); l++) {
      for (const spec of specs.slice(i, j))
        out.push({ name: arch.layerPrefix(l) + spec.name, spec, layer: l });
    }
    i = j;
  }
  return out;
}

/** The tensors a checkpoint must hold for `config`, with their shapes, keyed by Hugging Face name. */
export function tensorShapes<C, F extends string>(
  arch: Architecture<C, F>,
  config: C,
): Map<string, number[]> {
  return new Map(tensorsOf(arch, config).map((t) => [t.name, t.spec.shape(config)]));
}

/** The spec (and layer) a Hugging Face name refers to, or undefined for a name the table does not list. */
export function lookupTensor<C, F extends string>(
  arch: Architecture<C, F>,
  name: string,
): NamedTensorSpec<C, F> | undefined {
  const inLayer = arch.splitLayer(name);
  if (inLayer) {
    const spec = arch.tensors.find((s) => s.scope === 'layer' && s.name === inLayer.rest);
    return spec ? { name, spec, layer: inLayer.layer } : undefined;
  }
  const spec = arch.tensors.find((s) => s.scope === 'global' && s.name === name);
  return spec ? { name, spec } : undefined;
}

/** The Hugging Face name of the (single) global tensor of `kind`. */
export function globalName<C, F extends string>(arch: Architecture<C, F>, kind: TensorKind): string {
  const spec = arch.tensors.find((s) => s.scope === 'global' && s.kind === kind);
  if (!spec) throw new Error(`The ${arch.modelType} table has no global ${kind} tensor.`);
  return spec.name;
}
