/**
 * Random models of the real sizes (Mamba-1 random:130m … random:2.8b, Mamba-2 random:mamba2-130m …
 * random:mamba2-2.7b), for benchmarks: the big matrices are
 * filled on the GPU by shaders/fill_random.wgsl (generating and packing 2.8 B values in JS would take longer
 * than everything measured), the small per-layer vectors come from the host. Every value is a pure function of
 * (seed, tensor name, element index), so `randomHostWeights` rebuilds the very same model on the host for
 * the CPU reference (tests use that on small configs).
 *
 * Scales follow transformers' Mamba init so activations stay finite through 64 layers; each tensor's init is
 * in the architecture tables (src/model/architectures/mamba1.ts, mamba2.ts): matrices uniform with std 0.02,
 * conv as nn.Conv1d's default (bound 1/√d_conv), dt_proj bound dt_rank^−½, dt_bias the inverse softplus of Δ
 * log-uniform in [0.001, 0.1], A_log = log(1..d_state) per channel (Mamba-2: log(1..num_heads), one per
 * head), D = 1, norms 1, projection biases 0.
 */
import type { MambaConfig } from '../model/config.ts';
import { MAMBA1, mamba1Tensor } from '../model/architectures/mamba1.ts';
import { MAMBA2 } from '../model/architectures/mamba2.ts';
import { lookupTensor, type TensorInit } from '../model/architectures/types.ts';
import { aLogLayerOf, isMamba2Config, tensorShapesOf, type AnyMambaConfig } from '../model/family.ts';
import { parseMamba2Config, type Mamba2Config } from '../model/mamba2Config.ts';
import type { WeightDtype } from './api.ts';
import type { EngineDevice } from './gpu/device.ts';
import { int8Groups } from './gpu/int8.ts';
import { weightsAsHeld, type RowPart } from './gpu/weightMatrix.ts';
import { GpuMambaModel, type EngineOptions } from './model.ts';
import { PipelineCache, type KernelPipeline } from './kernels/pipelines.ts';
import { uniformBytes } from './kernels/uniforms.ts';
import { assembleWeights, type MambaWeights } from './weights.ts';

/** d_model and layers of the state-spaces/mamba-*-hf checkpoints. */
export const RANDOM_SIZES = {
  '130m': [768, 24],
  '370m': [1024, 48],
  '790m': [1536, 48],
  '1.4b': [2048, 48],
  '2.8b': [2560, 64],
} as const satisfies Record<string, readonly [number, number]>;

export type RandomSize = keyof typeof RANDOM_SIZES;

/** 'random:130m' → '130m'; anything else → undefined. */
export function parseRandomModel(spec: string): RandomSize | undefined {
  const m = /^random:(.+)$/.exec(spec);
  if (!m) return undefined;
  return Object.hasOwn(RANDOM_SIZES, m[1]!) ? (m[1] as RandomSize) : undefined;
}

export function randomConfig(size: RandomSize): MambaConfig {
  const [dm, layers] = RANDOM_SIZES[size];
  return {
    vocabSize: 50280,
    hiddenSize: dm,
    numLayers: layers,
    stateSize: 16,
    convKernel: 4,
    intermediateSize: 2 * dm,
    timeStepRank: Math.ceil(dm / 16),
    useConvBias: true,
    useBias: false,
    layerNormEpsilon: 1e-5,
    tieWordEmbeddings: true,
    bosTokenId: 0,
    eosTokenId: 0,
  };
}

/** d_model and layers of the state-spaces/mamba2-* checkpoints (head_dim 64, state 128, one group). */
export const RANDOM_MAMBA2_SIZES = {
  'mamba2-130m': [768, 24],
  'mamba2-370m': [1024, 48],
  'mamba2-780m': [1536, 48],
  'mamba2-1.3b': [2048, 48],
  'mamba2-2.7b': [2560, 64],
} as const satisfies Record<string, readonly [number, number]>;

export type RandomMamba2Size = keyof typeof RANDOM_MAMBA2_SIZES;

/** The config of state-spaces/mamba2-<size> (vocabulary padded to 50288, tied head, chunk 256). */
export function randomMamba2Config(size: RandomMamba2Size): Mamba2Config {
  const [dm, layers] = RANDOM_MAMBA2_SIZES[size];
  return parseMamba2Config(
    {
      model_type: 'mamba2',
      vocab_size: 50288,
      hidden_size: dm,
      num_hidden_layers: layers,
      num_heads: (2 * dm) / 64,
      head_dim: 64,
      n_groups: 1,
      state_size: 128,
      expand: 2,
      conv_kernel: 4,
      chunk_size: 256,
      tie_word_embeddings: true,
      bos_token_id: 0,
      eos_token_id: 0,
    },
    `random:${size}`,
  );
}

/** Every random model's name after "random:", both families. */
export const RANDOM_MODELS: string[] = [...Object.keys(RANDOM_SIZES), ...Object.keys(RANDOM_MAMBA2_SIZES)];

/** The config of 'random:130m' … 'random:2.8b' or 'random:mamba2-130m' … 'random:mamba2-2.7b'. */
export function randomModelConfig(spec: string): AnyMambaConfig | undefined {
  const size = parseRandomModel(spec);
  if (size) return randomConfig(size);
  const m = /^random:(.+)$/.exec(spec);
  return m && Object.hasOwn(RANDOM_MAMBA2_SIZES, m[1]!)
    ? randomMamba2Config(m[1] as RandomMamba2Size)
    : undefined;
}

/** The hash of fill_random.wgsl (Chris Wellons' lowbias32). */
export function lowbias32(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d) >>> 0;
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

/** Exactly the kernel's value for element `e` under `key`: uniform in [−bound, bound). */
export function hashUniform(e: number, key: number, bound: number): number {
  const w = (lowbias32((e + key) >>> 0) >>> 8) / 8388608 - 1; // exact in f32
  return Math.fround(w * Math.fround(bound));
}

/** A per-tensor key: FNV-1a of the name, mixed with the seed. */
export function tensorKey(name: string, seed: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return lowbias32((h ^ lowbias32(seed >>> 0)) >>> 0);
}

/** The big matrices (filled on the GPU), by their Hugging Face names. */
export function isGeneratedMatrix(name: string): boolean {
  const kind = mamba1Tensor(name)?.spec.kind;
  return kind === 'embedding' || kind === 'lmHead' || kind === 'matrix';
}

type ResolvedInit = number | Exclude<TensorInit<unknown>, object>;

/** How the family's table initialises `name`: the half-width of a uniform fill, or the named init. */
function initOf(config: AnyMambaConfig, name: string): ResolvedInit {
  const resolve = <C>(init: TensorInit<C> | undefined, c: C): ResolvedInit => {
    if (init === undefined) throw new RangeError(`No tensor "${name}" in this config.`);
    return typeof init === 'object' ? init.uniform(c) : init;
  };
  return isMamba2Config(config)
    ? resolve(lookupTensor(MAMBA2, name)?.spec.init, config)
    : resolve(lookupTensor(MAMBA1, name)?.spec.init, config);
}

/** The half-width of a tensor filled uniformly (every big matrix is), from its init in the table. */
export function uniformBound(config: AnyMambaConfig, name: string): number {
  const init = initOf(config, name);
  if (typeof init !== 'number') throw new RangeError(`"${name}" is not filled uniformly.`);
  return init;
}

/** The host values of tensor `name` (any tensor; the GPU makes the same values for the big matrices). */
export function hostTensor(config: AnyMambaConfig, name: string, seed: number): Float32Array {
  const shape = tensorShapesOf(config).get(name);
  if (!shape) throw new RangeError(`No tensor "${name}" in this config.`);
  const init = initOf(config, name);
  const n = shape.reduce((a, b) => a * b, 1);
  const key = tensorKey(name, seed);
  const out = new Float32Array(n);
  if (typeof init === 'number') {
    for (let e = 0; e < n; e++) out[e] = hashUniform(e, key, init);
    return out;
  }
  switch (init) {
    case 'dtBias': {
      // Δ = softplus(bias) log-uniform in [0.001, 0.1]; bias = Δ + log(1 − e^−Δ).
      const lo = Math.log(0.001);
      const hi = Math.log(0.1);
      for (let e = 0; e < n; e++) {
        const u = (hashUniform(e, key, 1) + 1) / 2;
        const dt = Math.max(1e-4, Math.exp(lo + u * (hi - lo)));
        out[e] = dt + Math.log(-Math.expm1(-dt));
      }
      return out;
    }
    case 'aLog': {
      // Mamba-2 has one A per head (transformers: A = 1 .. num_heads); Mamba-1 one per state element.
      const ds = isMamba2Config(config) ? n : config.stateSize;
      for (let e = 0; e < n; e++) out[e] = Math.log((e % ds) + 1);
      return out;
    }
    case 'ones':
      return out.fill(1);
    case 'zeros':
      return out;
  }
}

/** The whole model on the host (small configs: tests compare the GPU-filled engine with the CPU reference). */
export function randomHostWeights(config: MambaConfig, seed: number): MambaWeights {
  return assembleWeights(config, (n) => hostTensor(config, n, seed));
}

/**
 * The random model as an engine of `dtype` built by createRandomEngine holds it (the CPU reference's input):
 * weightsAsHeld for f32/f16; for int8, every generated matrix quantised as fill_random.wgsl does it, with the
 * scale bound / 127 (its values never exceed the bound) rather than int8.ts's max / 127.
 */
export function randomWeightsAsHeld(config: MambaConfig, seed: number, dtype: WeightDtype): MambaWeights {
  if (dtype !== 'int8') return weightsAsHeld(randomHostWeights(config, seed), dtype);
  return assembleWeights(config, (name) => {
    const v = hostTensor(config, name, seed);
    if (!isGeneratedMatrix(name)) return v;
    const s = Math.fround(uniformBound(config, name) / 127);
    return v.map((x) => Math.max(-127, Math.min(127, Math.round(x / s))) * s);
  });
}

const WORKGROUP = 256;
const MAX_GROUPS_X = 65535;

/** Runs fill_random.wgsl over matrix parts. */
export class GpuRandomFill {
  private readonly kernel: KernelPipeline<'fill_random'>;

  constructor(private readonly device: GPUDevice) {
    this.kernel = PipelineCache.forDevice(device).kernel('fill_random');
  }

  /** Fills `part` (rows row0.. of a matrix with `cols` columns) with hashUniform(e, key, bound). */
  fill(part: RowPart, cols: number, dtype: WeightDtype, key: number, bound: number, group = 0): void {
    const count = part.rows * cols;
    const i8 = dtype === 'int8';
    if (i8 && cols % 4 !== 0) {
      throw new RangeError(`Generated int8 matrices need a multiple of 4 columns, got ${cols}.`);
    }
    const words = i8 ? count / 4 : dtype === 'f16' ? Math.ceil(count / 2) : count;
    const groups = Math.ceil(words / WORKGROUP);
    const x = Math.min(groups, MAX_GROUPS_X);
    const y = Math.ceil(groups / x);
    const raw = uniformBytes('fill_random', 'P', {
      base: (part.row0 * cols) >>> 0,
      count,
      words,
      key,
      bound,
      f16: dtype === 'f16' ? 1 : 0,
      row_stride: x * WORKGROUP,
      i8: i8 ? 1 : 0,
    });
    const params = this.device.createBuffer({
      label: 'fill_random params',
      size: 32,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
    this.device.queue.writeBuffer(params, 0, raw);
    if (i8) {
      // Every value lies within ±bound, so each row (or group) takes the scale bound / 127.
      const scales = new Float32Array(part.rows * int8Groups(cols, group)).fill(Math.fround(bound / 127));
      this.device.queue.writeBuffer(part.buffer, words * 4, scales);
    }
    const bindGroup = this.kernel.bind('fill_random', { P: params, out: part.buffer });
    const enc = this.device.createCommandEncoder({ label: 'fill_random' });
    const pass = enc.beginComputePass({ label: 'fill_random' });
    pass.setPipeline(this.kernel.pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(x, y);
    pass.end();
    this.device.queue.submit([enc.finish()]);
    // Freed once the submitted fill has run (WebGPU defers destruction of buffers in use).
    params.destroy();
  }

  /**
   * An encoder of dispatches that do nothing (zero words to fill), for measuring the cost of a dispatch
   * itself (src/bench/floor.ts). `target` is any storage buffer of at least 4 bytes.
   */
  emptyDispatches(target: GPUBuffer): { encode: (pass: GPUComputePassEncoder) => void; destroy: () => void } {
    const params = this.device.createBuffer({
      label: 'fill_random empty params',
      size: 32,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
    const nothing = { base: 0, count: 0, words: 0, key: 0, bound: 0, f16: 0, row_stride: 0, i8: 0 };
    this.device.queue.writeBuffer(params, 0, uniformBytes('fill_random', 'P', nothing));
    const bindGroup = this.kernel.bind('fill_random empty', { P: params, out: target });
    return {
      encode: (pass) => {
        pass.setPipeline(this.kernel.pipeline);
        pass.setBindGroup(0, bindGroup);
        pass.dispatchWorkgroups(1);
      },
      destroy: () => params.destroy(),
    };
  }
}

export interface RandomModel {
  engine: GpuMambaModel;
  /** Each layer's A_log (what GpuStateMixer needs on the host). */
  aLogs: Float32Array[];
}

/**
 * Builds a random model of `config` on `dev`: matrices filled on the GPU, vectors uploaded from the host.
 * Resolves once the GPU has finished every fill (so a caller timing it measures the whole upload).
 */
export async function createRandomEngine(
  dev: EngineDevice,
  config: AnyMambaConfig,
  opts: EngineOptions,
  seed = 0,
): Promise<RandomModel> {
  const engine = await GpuMambaModel.create(dev, config, opts);
  const filler = new GpuRandomFill(dev.device);
  const aLogs: Float32Array[] = [];
  try {
    for (const name of tensorShapesOf(config).keys()) {
      if (isGeneratedMatrix(name)) {
        const key = tensorKey(name, seed);
        const bound = uniformBound(config, name);
        await engine.uploadTensorGenerated(name, (part, cols, dtype, group) =>
          filler.fill(part, cols, dtype, key, bound, group),
        );
      } else {
        const data = hostTensor(config, name, seed);
        const layer = aLogLayerOf(config, name);
        if (layer !== undefined) aLogs[layer] = data;
        await engine.uploadTensor(name, data);
      }
    }
    await engine.finalize();
    await dev.device.queue.onSubmittedWorkDone();
  } catch (e) {
    engine.destroy();
    throw e;
  }
  return { engine, aLogs };
}
