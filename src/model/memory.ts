/**
 * How much GPU memory a checkpoint needs at each precision, worked out from config.json alone so it can be
 * shown, and a model refused, before gigabytes are downloaded. Weights are f32 (4 bytes) or packed f16
 * (2 bytes); int8 holds its large matrices in 1 byte each plus their scales (the rest f32, and any matrix the
 * int8 choice leaves out in f16); activations and states are always f32. WebGPU does not reveal a GPU's total memory, so the check
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
import { DEFAULT_INT8, matrixDtype, prefillBlocks, type MatrixRole } from '../engine/decisions.ts';
import { m2InProjSplits } from '../engine/mamba2/decisions.ts';
import { packedBytes, planRowParts } from '../engine/gpu/weightMatrix.ts';
import { resolveOptions } from '../engine/options.ts';
import { EMBEDDING_NAME, LM_HEAD_NAME, MAMBA1 } from './architectures/mamba1.ts';
import { stateGeometry } from '../engine/stateIO.ts';
import { ModelTooLargeError } from './errors.ts';
import { formatBytes } from './progress.ts';

/** States assumed alive at once (the working state, a saved one being mixed, the mix, a scratch copy). */
export const LIVE_STATES = 4;
/** Above this many bytes of f32 weights the default precision is f16 (the 500 MB). */
export const F16_DEFAULT_ABOVE_BYTES = 500e6;

const ROLE_OF_FIELD: Record<string, MatrixRole> = {
  embedding: 'embedding',
  lmHead: 'lm_head',
  inProj: 'in_proj',
  xProj: 'x_proj',
  outProj: 'out_proj',
};

/** How an engine of `precision` holds a large matrix (embedding, LM head, a projection) of `field`. */
function heldAs(field: string, precision: WeightDtype): { dtype: WeightDtype; group: number } {
  const dtype = matrixDtype(ROLE_OF_FIELD[field] ?? 'in_proj', precision, DEFAULT_INT8);
  return { dtype, group: dtype === 'int8' ? DEFAULT_INT8.group : 0 };
}

interface TensorEntry {
  kind: string;
  field: string;
  layer?: number;
  shape: number[];
}

/** Every tensor of `config`'s family (its architecture table), with its kind, field and shape. */
function tensorList(config: AnyMambaConfig): TensorEntry[] {
  const list = <C>(arch: Architecture<C>, c: C): TensorEntry[] =>
    tensorsOf(arch, c).map((t) => ({
      kind: t.spec.kind,
      field: t.spec.field,
      layer: t.layer,
      shape: t.spec.shape(c),
    }));
  return isMamba2Config(config) ? list(MAMBA2, config) : list(MAMBA1, config);
}

const BIG = new Set(['embedding', 'lmHead', 'matrix']);

/** Bytes of int8 weights: the large matrices as the default int8 choice holds them, every other tensor f32. */
function int8WeightBytes(config: AnyMambaConfig): number {
  let bytes = 0;
  for (const t of tensorList(config)) {
    if (BIG.has(t.kind)) {
      const { dtype, group } = heldAs(t.field, 'int8');
      bytes += packedBytes(t.shape[0]!, t.shape[1]!, dtype, group);
    } else {
      bytes += 4 * t.shape.reduce((a, b) => a * b, 1);
    }
  }
  return bytes;
}

export function countParameters(config: AnyMambaConfig): number {
  let n = 0;
  for (const shape of tensorShapesOf(config).values()) n += shape.reduce((a, b) => a * b, 1);
  return n;
}

/**
 * Bytes of the activation buffers the engine allocates for `config` on a GPU adapter with the default
 * options: the chunk length and split-K tuning as the engine resolves them, and the split-K partials for the
 * matrices' row parts as `limits` split them, and Mamba-2 in_proj's column blocks as prefill runs them (one
 * layer's matrices stand for all: every layer has the same).
 * `hasSubgroups` settles Mamba-2's SSD form (mamba2/decisions.ts m2SsdPlan): with subgroups the fused pair's
 * scratch is a few KB where the three passes' is the chunks' entering states (84 MB at 2.7b), so the default,
 * false, gives the larger figure, which is what a check made before the device is opened should count.
 */
export function gpuActivationBytes(
  config: AnyMambaConfig,
  precision: WeightDtype,
  limits?: DeviceLimits,
  hasSubgroups = false,
): number {
  const binding = limits?.maxStorageBufferBindingSize ?? Infinity;
  const device = { isSoftware: false, hasSubgroups, maxStorageBufferBindingSize: binding };
  const opts = resolveOptions({ dtype: precision }, device, config);
  const align = limits?.minStorageBufferOffsetAlignment ?? 256;
  const parts = tensorList(config)
    .filter((t) => BIG.has(t.kind) && (t.layer ?? 0) === 0)
    .flatMap((t) => {
      const [rows, cols] = t.shape as [number, number];
      const { dtype, group } = heldAs(t.field, precision);
      // A row wider than a binding cannot load at all (assertFits says so); count the matrix whole then.
      const fits = packedBytes(1, cols, dtype, group) + 16 <= opts.maxBinding;
      const split = fits
        ? planRowParts(rows, cols, dtype, opts.maxBinding, undefined, group)
        : [{ row0: 0, rows }];
      // Prefill runs Mamba-2's in_proj in column blocks, each with its own split-K need.
      const at =
        isMamba2Config(config) && t.field === 'inProj'
          ? m2InProjSplits(config, opts.m2InProjSplit, opts.m2InProjSplitAt)
          : [];
      return split.flatMap((p) =>
        prefillBlocks(p, cols, dtype, at, align).map((b) => ({ rows: b.rows, cols })),
      );
    });
  return engineActivationBytes(config, opts.chunkSize, opts.m2Ssd, { parts, tuning: opts });
}

export interface DeviceLimits {
  maxStorageBufferBindingSize: number;
  maxBufferSize: number;
  /** Where a binding may start in a buffer; WebGPU's default, 256, when not given (the engine asks no other). */
  minStorageBufferOffsetAlignment?: number;
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
  const weightBytes = precision === 'int8' ? int8WeightBytes(config) : parameters * w;
  const head = config.tieWordEmbeddings ? 'embedding' : 'lmHead';
  const dm = config.hiddenSize;
  const activationBytes = gpuActivationBytes(config, precision, limits);
  const g = stateGeometry(config);
  const stateBytes = LIVE_STATES * 4 * g.layers * (g.ssm + g.conv + g.dtSum);
  const rows = config.vocabSize;
  const held = heldAs(head, precision);
  const rowBytes = precision === 'int8' ? packedBytes(1, dm, held.dtype, held.group) : dm * w;
  const perBlock = limits ? Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize) : Infinity;
  const rowsPerBlock = Math.floor(perBlock / rowBytes);
  return {
    precision,
    parameters,
    weightBytes,
    activationBytes,
    stateBytes,
    totalBytes: weightBytes + activationBytes + stateBytes,
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
    // The next smaller precision that fits, if any: f16 before int8 (int8 changes the model's outputs a little).
    const smaller: WeightDtype[] =
      precision === 'f32' ? ['f16', 'int8'] : precision === 'f16' ? ['int8'] : [];
    const alt = smaller
      .map((p) => estimateMemory(config, p, limits))
      .find((e) => e.totalBytes <= budgetBytes);
    const hint = alt
      ? ` At ${alt.precision} it needs about ${formatBytes(alt.totalBytes)}, which fits: choose ${alt.precision} precision.`
      : ' Choose a smaller model.';
    throw new ModelTooLargeError(
      `${what} needs about ${formatBytes(est.totalBytes)} of GPU memory at ${precision} (${formatBytes(est.weightBytes)} of weights, ${formatBytes(est.activationBytes + est.stateBytes)} of activations and states), more than the ${formatBytes(budgetBytes)} available.${hint}`,
    );
  }
  return est;
}
