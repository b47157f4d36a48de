/**
 * The engine's activation buffers: their sizes as a pure function of the config and the chunk length (so
 * src/model/memory.ts estimates from the very numbers the engine allocates), and their allocation.
 *
 * Every buffer is rounded up to a multiple of 16 bytes (at least 16): some kernels view activations as
 * array<vec4f>.
 */
import type { MambaConfig } from '../model/config.ts';
import { isMamba2Config, type AnyMambaConfig } from '../model/family.ts';
import type { Mamba2Config } from '../model/mamba2Config.ts';
import { splitKFloats, type GemmTuning } from './decisions.ts';
import type { M2SsdChoice } from './mamba2/decisions.ts';
import { ssdGateParts, ssdScratchFloats } from './mamba2/ssd.ts';

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

/** The activations every family has: the residual stream, the head's and the sampler's buffers. */
export type SharedActivationName = Exclude<ActivationName, 'xz' | 'xc' | 'dbc' | 'y' | 'dt'>;
export type SharedActivations = Record<SharedActivationName, GPUBuffer>;

/**
 * Mamba-2's activations: in_proj's output, the conv's, the scan's, the gated norm's, the chunked scan's scratch
 * and `gss`, the fused SSD's partial sums of g² per token where the gated norm is folded (mamba2/plan.ts).
 */
export type Mamba2ActivationName =
  SharedActivationName | 'proj' | 'xbc' | 'y' | 'gated' | 'cum' | 'dl' | 'cs' | 'gss';
export type Mamba2Activations = Record<Mamba2ActivationName, GPUBuffer>;

function sharedSizes(config: AnyMambaConfig, T: number): Record<SharedActivationName, number> {
  const { hiddenSize: dm, vocabSize: V } = config;
  return {
    dims: 16,
    tokens: T * 4,
    targets: T * 4,
    resid: T * dm * 4,
    delta: T * dm * 4,
    normed: T * dm * 4,
    logits: T * V * 4,
    nll: T * 4,
    lastNormed: dm * 4,
    lastLogits: V * 4,
    sampleParams: 16,
    rng: 4,
    sampleOut: SAMPLE_OUT_WORDS * 4,
  };
}

/** Bytes asked for each activation buffer at `chunkSize` tokens per chunk (before padding). */
export function activationSizes(config: MambaConfig, chunkSize: number): Record<ActivationName, number> {
  const { intermediateSize: di, stateSize: ds, timeStepRank: r } = config;
  const T = chunkSize;
  return {
    ...sharedSizes(config, T),
    xz: T * 2 * di * 4,
    xc: T * di * 4,
    dbc: T * (r + 2 * ds) * 4,
    y: T * di * 4,
    dt: T * di * 4,
  };
}

/**
 * Mamba-2's activation sizes in bytes at `chunkSize` tokens per chunk (before padding). `cs` is sized for the
 * SSD form `ssd` the engine runs: the fused pair's C·Bᵀ needs 256 floats per chunk of 16 and group (32 KB at
 * 2.7b), the passes the chunks' entering states (84 MB at 2.7b, Q 16).
 */
export function mamba2ActivationSizes(
  c: Mamba2Config,
  chunkSize: number,
  ssd: M2SsdChoice,
): Record<Mamba2ActivationName, number> {
  const T = chunkSize;
  const H = c.numHeads;
  const shape = { H, P: c.headDim, G: c.nGroups, N: c.stateSize };
  return {
    ...sharedSizes(c, T),
    proj: T * c.inProjSize * 4,
    xbc: T * c.convDim * 4,
    y: T * c.intermediateSize * 4,
    gated: T * c.intermediateSize * 4,
    cum: T * H * 4,
    dl: T * H * 4,
    cs: ssdScratchFloats(T, shape, ssd) * 4,
    gss: ssd.fused ? T * ssdGateParts(shape, ssd) * 4 : 0,
  };
}

/** Either family's activation sizes; `ssd`, the SSD form, counts for Mamba-2 only (ResolvedOptions.m2Ssd). */
function familySizes(config: AnyMambaConfig, chunkSize: number, ssd?: M2SsdChoice): Record<string, number> {
  if (!isMamba2Config(config)) return activationSizes(config, chunkSize);
  if (!ssd) throw new Error("A Mamba-2 engine's activations are sized for its SSD form; none was given.");
  return mamba2ActivationSizes(config, chunkSize, ssd);
}

/** The two 16-byte stand-ins the fused GEMV binds where a step has no conv outputs. */
export const UNUSED_RW_BYTES = 2 * 16;

/**
 * Bytes of every activation-sized buffer the engine allocates: the activations (a Mamba-2 engine's `cs` for its
 * SSD form `ssd`), the fused GEMV's stand-ins and, on the hardware variant, the split-K partial sums for
 * matrices split into `parts` (rows, cols).
 */
export function activationBytes(
  config: AnyMambaConfig,
  chunkSize: number,
  ssd: M2SsdChoice,
  splitK?: { parts: Iterable<{ rows: number; cols: number }>; tuning: GemmTuning },
): number {
  let total = UNUSED_RW_BYTES;
  for (const b of Object.values(familySizes(config, chunkSize, ssd))) total += paddedBytes(b);
  if (splitK) total += paddedBytes(splitKFloats(splitK.parts, chunkSize, splitK.tuning) * 4);
  return total;
}

type Alloc = (label: string, bytes: number, usage: number) => GPUBuffer;

/**
 * Allocates the activation buffers through `alloc` (which pads and tracks them), for either family; a Mamba-2
 * engine passes the SSD form it plans (ResolvedOptions.m2Ssd), which sizes `cs`.
 */
export function allocateActivations(alloc: Alloc, config: MambaConfig, chunkSize: number): Activations;
export function allocateActivations(
  alloc: Alloc,
  config: Mamba2Config,
  chunkSize: number,
  ssd: M2SsdChoice,
): Mamba2Activations;
export function allocateActivations(
  alloc: Alloc,
  config: AnyMambaConfig,
  chunkSize: number,
  ssd?: M2SsdChoice,
) {
  const size = familySizes(config, chunkSize, ssd);
  const S = GPUBufferUsage.STORAGE;
  const CD = GPUBufferUsage.COPY_DST;
  const CS = GPUBufferUsage.COPY_SRC;
  const U = GPUBufferUsage.UNIFORM;
  // Every buffer not named here is plain storage.
  const usage: Partial<Record<SharedActivationName, number>> = {
    dims: U | CD,
    tokens: S | CD,
    targets: S | CD,
    // COPY_DST: continueMany copies its gathered last rows here for the head (engine/batchRun.ts).
    normed: S | CS | CD,
    logits: S | CS,
    nll: S | CS,
    lastNormed: S | CD,
    lastLogits: S | CS,
    sampleParams: U | CD,
    rng: S | CD,
    sampleOut: S | CS,
  };
  const out: Record<string, GPUBuffer> = {};
  for (const [name, bytes] of Object.entries(size)) {
    out[name] = alloc(name, bytes, usage[name as SharedActivationName] ?? S);
  }
  return out;
}
