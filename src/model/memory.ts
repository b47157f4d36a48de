/**
 * How much GPU memory a checkpoint needs at each precision, worked out from config.json alone so it can be
 * shown, and a model refused, before gigabytes are downloaded. Weights are f32 (4 bytes) or packed f16
 * (2 bytes); activations and states are always f32. WebGPU does not reveal a GPU's total memory, so the check
 * is against the adapter's buffer limits (a matrix larger than one binding is split by rows) and an optional
 * budget the caller knows (a user setting, or a device's known size).
 */
import type { MambaConfig } from './config.ts';
import { EMBEDDING_NAME, LM_HEAD_NAME } from './architectures/mamba1.ts';
import { expectedTensorShapes } from './config.ts';
import { ModelTooLargeError } from './errors.ts';
import { formatBytes } from './progress.ts';

export type Precision = 'f32' | 'f16';

/** Tokens per prefill chunk assumed for activation buffers (the engine processes long prompts in chunks). */
export const PREFILL_CHUNK_TOKENS = 256;
/** States assumed alive at once (the working state, a saved one being mixed, the mix, a scratch copy). */
export const LIVE_STATES = 4;
/** Above this many bytes of f32 weights the default precision is f16 (the 500 MB). */
export const F16_DEFAULT_ABOVE_BYTES = 500e6;

export function countParameters(config: MambaConfig): number {
  let n = 0;
  for (const shape of expectedTensorShapes(config).values()) n += shape.reduce((a, b) => a * b, 1);
  return n;
}

export interface DeviceLimits {
  maxStorageBufferBindingSize: number;
  maxBufferSize: number;
}

export interface MemoryEstimate {
  precision: Precision;
  parameters: number;
  weightBytes: number;
  /** Prefill activations for one chunk, with per-token logits. */
  activationBytes: number;
  stateBytes: number;
  totalBytes: number;
  /** The largest matrix (embedding, or the untied head), and into how many row blocks the limits split it. */
  largestMatrix: { name: string; rows: number; rowBytes: number; bytes: number; blocks: number };
}

export function estimateMemory(
  config: MambaConfig,
  precision: Precision,
  limits?: DeviceLimits,
): MemoryEstimate {
  const w = precision === 'f32' ? 4 : 2;
  const parameters = countParameters(config);
  const { hiddenSize: dm, intermediateSize: di, stateSize: ds, convKernel: dc, timeStepRank: r } = config;
  const T = PREFILL_CHUNK_TOKENS;
  // Residual, normed input and output of a layer; in_proj's x|z; conv out; x_proj out; Δ; y; logits.
  const activationBytes = 4 * T * (3 * dm + 2 * di + di + (r + 2 * ds) + di + di + config.vocabSize);
  const stateBytes = LIVE_STATES * 4 * config.numLayers * di * (ds + (dc - 1) + 1);
  const rows = config.vocabSize;
  const rowBytes = dm * w;
  const perBlock = limits ? Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize) : Infinity;
  const rowsPerBlock = Math.floor(perBlock / rowBytes);
  return {
    precision,
    parameters,
    weightBytes: parameters * w,
    activationBytes,
    stateBytes,
    totalBytes: parameters * w + activationBytes + stateBytes,
    largestMatrix: {
      name: config.tieWordEmbeddings ? EMBEDDING_NAME : LM_HEAD_NAME,
      rows,
      rowBytes,
      bytes: rows * rowBytes,
      blocks: rowsPerBlock >= 1 ? Math.ceil(rows / rowsPerBlock) : Infinity,
    },
  };
}

/**
 * The precision to load at when the user has not chosen: packed f16 above 500 MB of f32 weights (130m and
 * up), else the checkpoint's own (an F32 file stays f32; F16 and BF16 files load as f16). `preferF32` (set for
 * software adapters such as SwiftShader, where every f16 weight is unpacked by the CPU) keeps small models in
 * f32: there the bundled model scores a 64-token text in ~0.42 s in f32 against ~0.88 s in f16.
 */
export function defaultPrecision(
  config: MambaConfig,
  checkpointDtype?: string,
  preferF32 = false,
): Precision {
  if (countParameters(config) * 4 > F16_DEFAULT_ABOVE_BYTES) return 'f16';
  if (preferF32) return 'f32';
  return checkpointDtype === 'F16' || checkpointDtype === 'BF16' ? 'f16' : 'f32';
}

/**
 * Throws ModelTooLargeError when the checkpoint cannot fit: a single row of its largest matrix exceeds a
 * binding (no split can help), or the total exceeds `budgetBytes`. The message gives the sizes and, where
 * f16 would fit, says to choose it.
 */
export function assertFits(
  config: MambaConfig,
  precision: Precision,
  limits: DeviceLimits | undefined,
  budgetBytes: number | undefined,
  what = 'This model',
): MemoryEstimate {
  const est = estimateMemory(config, precision, limits);
  if (!Number.isFinite(est.largestMatrix.blocks)) {
    throw new ModelTooLargeError(
      `${what} cannot run on this GPU: one row of ${est.largestMatrix.name} (${formatBytes(est.largestMatrix.rowBytes)}) exceeds the adapter's largest buffer binding (${formatBytes(Math.min(limits!.maxStorageBufferBindingSize, limits!.maxBufferSize))}).`,
    );
  }
  if (budgetBytes !== undefined && est.totalBytes > budgetBytes) {
    const alt = precision === 'f32' ? estimateMemory(config, 'f16', limits) : undefined;
    const hint =
      alt && alt.totalBytes <= budgetBytes
        ? ` At f16 it needs about ${formatBytes(alt.totalBytes)}, which fits: choose f16 precision.`
        : ' Choose a smaller model.';
    throw new ModelTooLargeError(
      `${what} needs about ${formatBytes(est.totalBytes)} of GPU memory at ${precision} (${formatBytes(est.weightBytes)} of weights, ${formatBytes(est.activationBytes + est.stateBytes)} of activations and states), more than the ${formatBytes(budgetBytes)} available.${hint}`,
    );
  }
  return est;
}
