/**
 * How much GPU memory a checkpoint needs at each precision, worked out from config.json alone so it can be
 * shown, and a model refused, before gigabytes are downloaded. Weights are f32 (4 bytes) or packed f16
 * (2 bytes); activations and states are always f32. WebGPU does not reveal a GPU's total memory, so the check
 * is against the adapter's buffer limits (a matrix larger than one binding is split by rows) and an optional
 * budget the caller knows (a user setting, or a device's known size).
 *
 * Activations are the very buffers the engine allocates (src/engine/activations.ts) on a GPU adapter, the
 * larger case: 512-token prefill chunks (fewer where one chunk's logits would exceed a binding) and the
 * split-K partial sums of its tiled GEMMs. SwiftShader runs 128-token chunks without split-K and needs less.
 */
import type { WeightDtype } from '../engine/api.ts';
import { MAMBA2 } from './architectures/mamba2.ts';
import { tensorsOf, type Architecture } from './architectures/types.ts';
import { isMamba2Config, tensorShapesOf, type AnyMambaConfig } from './family.ts';
import { activationBytes as engineActivationBytes } from '../engine/activations.ts';
import { planRowParts } from '../engine/gpu/weightMatrix.ts';
import { resolveOptions } from '../engine/options.ts';
import { EMBEDDING_NAME, LM_HEAD_NAME, MAMBA1 } from './architectures/mamba1.ts';
import { stateGeometry } from '../engine/stateIO.ts';
import { ModelTooLargeError } from './errors.ts';
import { formatBytes } from './progress.ts';

/** States assumed alive at once (the working state, a saved one being mixed, the mix, a scratch copy). */
export const LIVE_STATES = 4;
/** Above this many bytes of f32 weights the default precision is f16 (the 500 MB). */
export const F16_DEFAULT_ABOVE_BYTES = 500e6;

export function countParameters(config: AnyMambaConfig): number {
  let n = 0;
  for (const shape of tensorShapesOf(config).values()) n += shape.reduce((a, b) => a * b, 1);
  return n;
}

/**
 * Bytes of the activation buffers the engine allocates for `config` on a GPU adapter with the default
 * options: the chunk length and split-K tuning as the engine resolves them, and the split-K partials for the
 * matrices' row parts as `limits` split them (one layer's matrices stand for all: every layer has the same).
 */
export function gpuActivationBytes(
  config: AnyMambaConfig,
  precision: WeightDtype,
  limits?: DeviceLimits,
): number {
  const binding = limits?.maxStorageBufferBindingSize ?? Infinity;
  const device = { isSoftware: false, hasSubgroups: false, maxStorageBufferBindingSize: binding };
  const opts = resolveOptions({ dtype: precision }, device, config);
  const matrices = isMamba2Config(config) ? bigMatrices(MAMBA2, config) : bigMatrices(MAMBA1, config);
  const parts = matrices.flatMap(([rows, cols]) => {
    // A row wider than a binding cannot load at all (assertFits says so); count the matrix whole then.
    const fits = cols * (precision === 'f16' ? 2 : 4) + 16 <= opts.maxBinding;
    const split = fits ? planRowParts(rows, cols, precision, opts.maxBinding) : [{ rows }];
    return split.map((p) => ({ rows: p.rows, cols }));
  });
  return engineActivationBytes(config, opts.chunkSize, { parts, tuning: opts });
}

/** [rows, cols] of the big matrices (embedding, LM head, layer 0's projections: every layer has the same). */
function bigMatrices<C>(arch: Architecture<C>, config: C): [number, number][] {
  const big = new Set(['embedding', 'lmHead', 'matrix']);
  return tensorsOf(arch, config)
    .filter((t) => big.has(t.spec.kind) && (t.layer ?? 0) === 0)
    .map((t) => t.spec.shape(config) as [number, number]);
}

export interface DeviceLimits {
  maxStorageBufferBindingSize: number;
  maxBufferSize: number;
}

export interface MemoryEstimate {
  precision: WeightDtype;
  parameters: number;
  weightBytes: number;
  /** The engine's activation buffers on a GPU (a 512-token chunk with its logits, decode, split-K scratch). */
  activationBytes: number;
  stateBytes: number;
  totalBytes: number;
  /** The largest matrix (embedding, or the untied head), and into how many row blocks the limits split it. */
  largestMatrix: { name: string; rows: number; rowBytes: number; bytes: number; blocks: number };
}

export function estimateMemory(
  config: AnyMambaConfig,
  precision: WeightDtype,
  limits?: DeviceLimits,
): MemoryEstimate {
  const w = precision === 'f32' ? 4 : 2;
  const parameters = countParameters(config);
  const dm = config.hiddenSize;
  const activationBytes = gpuActivationBytes(config, precision, limits);
  const g = stateGeometry(config);
  const stateBytes = LIVE_STATES * 4 * g.layers * (g.ssm + g.conv + g.dtSum);
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
  config: AnyMambaConfig,
  checkpointDtype?: string,
  preferF32 = false,
): WeightDtype {
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
  config: AnyMambaConfig,
  precision: WeightDtype,
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
