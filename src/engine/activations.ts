/**
 * The engine's activation buffers: their sizes as a pure function of the config and the chunk length (so
 * src/model/memory.ts estimates from the very numbers the engine allocates), and their allocation.
 *
 * Every buffer is rounded up to a multiple of 16 bytes (at least 16): some kernels view activations as
 * array<vec4f>.
 */
import type { MambaConfig } from '../model/config.ts';
import { splitKFloats, type GemmTuning } from './decisions.ts';

/** Words of the sampler's report: id, prob, count, then up to 16 (id, prob) alternatives. */
export const SAMPLE_OUT_WORDS = 3 + 2 * 16;

/** The size every engine buffer really takes. */
export function paddedBytes(bytes: number): number {
  return Math.max(16, Math.ceil(bytes / 16) * 16);
}

export type ActivationName =
  | 'dims'
  | 'tokens'
  | 'targets'
  | 'resid'
  | 'delta'
  | 'normed'
  | 'xz'
  | 'xc'
  | 'dbc'
  | 'y'
  | 'dt'
  | 'logits'
  | 'nll'
  | 'lastNormed'
  | 'lastLogits'
  | 'sampleParams'
  | 'rng'
  | 'sampleOut';

export type Activations = Record<ActivationName, GPUBuffer>;

/** Bytes asked for each activation buffer at `chunkSize` tokens per chunk (before padding). */
export function activationSizes(config: MambaConfig, chunkSize: number): Record<ActivationName, number> {
  const { hiddenSize: dm, intermediateSize: di, stateSize: ds, timeStepRank: r, vocabSize: V } = config;
  const T = chunkSize;
  return {
    dims: 16,
    tokens: T * 4,
    targets: T * 4,
    resid: T * dm * 4,
    delta: T * dm * 4,
    normed: T * dm * 4,
    xz: T * 2 * di * 4,
    xc: T * di * 4,
    dbc: T * (r + 2 * ds) * 4,
    y: T * di * 4,
    dt: T * di * 4,
    logits: T * V * 4,
    nll: T * 4,
    lastNormed: dm * 4,
    lastLogits: V * 4,
    sampleParams: 16,
    rng: 4,
    sampleOut: SAMPLE_OUT_WORDS * 4,
  };
}

/** The two 16-byte stand-ins the fused GEMV binds where a step has no conv outputs. */
export const UNUSED_RW_BYTES = 2 * 16;

/**
 * Bytes of every activation-sized buffer the engine allocates: the activations, the fused GEMV's stand-ins
 * and, on the hardware variant, the split-K partial sums for matrices split into `parts` (rows, cols).
 */
export function activationBytes(
  config: MambaConfig,
  chunkSize: number,
  splitK?: { parts: Iterable<{ rows: number; cols: number }>; tuning: GemmTuning },
): number {
  let total = UNUSED_RW_BYTES;
  for (const b of Object.values(activationSizes(config, chunkSize))) total += paddedBytes(b);
  if (splitK) total += paddedBytes(splitKFloats(splitK.parts, chunkSize, splitK.tuning) * 4);
  return total;
}

type Alloc = (label: string, bytes: number, usage: number) => GPUBuffer;

/** Allocates the activation buffers through `alloc` (which pads and tracks them). */
export function allocateActivations(alloc: Alloc, config: MambaConfig, chunkSize: number): Activations {
  const size = activationSizes(config, chunkSize);
  const S = GPUBufferUsage.STORAGE;
  const CD = GPUBufferUsage.COPY_DST;
  const CS = GPUBufferUsage.COPY_SRC;
  const U = GPUBufferUsage.UNIFORM;
  const usage: Record<ActivationName, number> = {
    dims: U | CD,
    tokens: S | CD,
    targets: S | CD,
    resid: S,
    delta: S,
    normed: S | CS,
    xz: S,
    xc: S,
    dbc: S,
    y: S,
    dt: S,
    logits: S | CS,
    nll: S | CS,
    lastNormed: S | CD,
    lastLogits: S | CS,
    sampleParams: U | CD,
    rng: S | CD,
    sampleOut: S | CS,
  };
  const out = {} as Activations;
  for (const name of Object.keys(size) as ActivationName[]) out[name] = alloc(name, size[name], usage[name]);
  return out;
}
