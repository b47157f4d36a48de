/**
 * Dispatches of the unfused matrix products: prefill GEMMs (gemm_tiled.wgsl on GPUs, gemm_reg.wgsl on
 * SwiftShader) and decode GEMVs (gemv.wgsl, gemv_coop.wgsl, gemv_subgroup.wgsl), one or more per row part of
 * a weight matrix. On GPUs a prefill GEMM may run a row part as several column blocks (prefillParts), each
 * binding its range of the part's buffer, so the weights stay in the buffers decode reads whole.
 */
import type { RowPart, WeightMatrix } from '../gpu/weightMatrix.ts';
import type { BufferResource } from '../kernels/bindings.ts';
import type { Constants, Dispatch } from '../kernels/pipelines.ts';
import { gemmKernel, maxSplitFor, midSplit, midTile, prefillBlocks, useBigTiles } from '../decisions.ts';
import { sgmmFits } from '../sgmmDecisions.ts';
import { ceil, uniformFields, weightKernel, type SharedPlanContext } from './context.ts';
import { sgmatGemmSteps } from './sgmatGemm.ts';

/**
 * A Shape uniform (shaders/include/shape.wgsl, the same struct in every GEMM / GEMV kernel) for row part `p`
 * of matrix `key` with `k` inputs.
 */
export function shapeUniform(
  ctx: SharedPlanContext,
  key: string,
  p: RowPart,
  k: number,
  ldy: number,
  biasOff: number | undefined,
  splitTarget = 0,
  maxSplit = 0,
): GPUBuffer {
  return uniformFields(ctx, `${key}.shape`, 'gemm_tiled', 'shape', {
    N: p.rows,
    K: k,
    LDY: ldy,
    COL0: p.row0,
    BIAS_OFF: (biasOff ?? 0) + p.row0,
    HAS_BIAS: biasOff !== undefined ? 1 : 0,
    SPLIT_TARGET: splitTarget,
    MAX_SPLIT: maxSplit,
  });
}

/**
 * One column block of a row part as a prefill GEMM runs it: its rows in the matrix (`row0`, `rows`; `buffer`
 * is the part's) and `W`, what it binds: the part's buffer whole, or the block's range of it.
 */
export interface PrefillPart extends RowPart {
  W: BufferResource;
}

/**
 * The row parts of matrix `key` split at ctx.prefillSplits (decisions.ts prefillBlocks: only where the part's
 * buffer can be bound at the split), as the hardware variant's prefill GEMMs run them and as the split-K
 * partials are sized for them (assemble.ts allocateSplitK).
 */
export function prefillParts(
  ctx: Pick<SharedPlanContext, 'device' | 'prefillSplits'>,
  key: string,
  m: WeightMatrix,
): PrefillPart[] {
  const splits = ctx.prefillSplits?.get(key) ?? [];
  const align = ctx.device.limits.minStorageBufferOffsetAlignment;
  return m.parts.flatMap((p) =>
    prefillBlocks(p, m.cols, m.dtype, splits, align).map((b) => {
      const { buffer } = p;
      const whole = b.byteOffset === 0 && b.byteSize === undefined;
      const range: GPUBufferBinding =
        b.byteSize === undefined
          ? { buffer, offset: b.byteOffset }
          : { buffer, offset: b.byteOffset, size: b.byteSize };
      return { row0: b.row0, rows: b.rows, buffer, W: whole ? buffer : range };
    }),
  );
}

/**
 * Mamba-2's gated RMSNorm folded into out_proj's prefill GEMM (gemm_tiled_rs): `gss` holds the fused SSD's
 * partial sums of g² per token, NPART of them, over DI channels; EPS is the norm's.
 */
export interface NormFold {
  gss: GPUBuffer;
  NPART: number;
  DI: number;
  EPS: number;
}

/**
 * y[., ldy] = x · matrix `key`ᵀ (+ bias at `biasOff` of `bias`), for a chunk ('gemm') or one token ('gemv');
 * with `fold`, each token's results scaled by its rstd first (prefill on gemm_tiled only); with `rowsBelow`, a
 * prefill GEMM leaves out the blocks from that row on (another dispatch makes those rows: mamba2/plan.ts).
 */
export function gemmSteps(
  ctx: SharedPlanContext,
  key: string,
  x: GPUBuffer,
  y: GPUBuffer,
  ldy: number,
  bias: GPUBuffer,
  biasOff: number | undefined,
  mode: 'gemm' | 'gemv',
  fold?: NormFold,
  rowsBelow = Infinity,
): Dispatch[] {
  const m = ctx.weights.matrices.get(key)!;
  const kernel = gemmKernel(mode, ctx.opts.variant, ctx.opts.useSubgroups);
  if (fold && (kernel !== 'gemm_tiled' || ctx.opts.sgmat))
    throw new Error(`The gated norm folds into gemm_tiled alone, not ${ctx.opts.sgmat?.kernel ?? kernel}.`);
  if (kernel === 'gemm_tiled') {
    const sgmat = ctx.opts.sgmat;
    const maxWg = ctx.device.limits.maxComputeWorkgroupStorageSize;
    // Whether a block before this one already copied X to f16 for gemm_sgmm: every block reads the same X.
    let halfX = false;
    // Blocks the subgroup-matrix variant cannot take (straight loads need K % 16 == 0, whole tiles of rows) stay
    // on gemm_tiled.
    const parts = prefillParts(ctx, key, m).filter((p) => p.row0 < rowsBelow);
    return parts.flatMap((p) => {
      if (!sgmat || m.dtype !== 'f16' || !sgmmFits(sgmat, maxWg, { rows: p.rows, k: m.cols })) {
        return tiledGemmSteps(ctx, key, m, p, x, y, ldy, bias, biasOff, fold);
      }
      const steps = sgmatGemmSteps(ctx, key, m.cols, p, x, y, ldy, bias, biasOff, !halfX);
      halfX = true;
      return steps;
    });
  }
  return m.parts.map((p) => {
    const shape = shapeUniform(ctx, key, p, m.cols, ldy, biasOff);
    const pipe = weightKernel(ctx, kernel, m);
    const label = `${key}.${pipe.kernel}`;
    const buffers = { X: x, W: p.buffer, bias, Y: y, shape };
    const size: Dispatch['size'] =
      kernel === 'gemm_reg'
        ? (t) => [ceil(ceil(p.rows, 4), 64), ceil(t, 4), 1]
        : kernel === 'gemv'
          ? () => [ceil(ceil(p.rows, 4), 64), 1, 1]
          : () => [p.rows, 1, 1];
    // Only the prefill kernel reads the chunk length (dims); the GEMVs run one token.
    return kernel === 'gemm_reg'
      ? weightKernel(ctx, kernel, m).dispatch(label, { ...buffers, dims: ctx.act.dims }, size)
      : pipe.dispatch(label, buffers, size);
  });
}

/**
 * One row part, or column block of one, of a prefill GEMM on GPUs (shaders/gemm_tiled.wgsl): three prebuilt
 * dispatches of which the chunk length picks one or two (the others get zero workgroups and are skipped):
 * 128 x 128 tiles when they alone give `bigMinTiles` workgroups (never by default), else the mid path's tiles
 * (midTile: 128 x 64 for long reductions, 64 x 64 for short ones, unless `prefillGemm.midTile` forces one), with
 * split-K along z when even those are too few (x_proj's 80 outputs, out_proj at short chunks, Mamba-2
 * in_proj's [B | C | dt] block), then the split-K reduce. With `fold`, the GEMMs are gemm_tiled_rs (the gated
 * norm's per-token scale applied to the sums, or to the split-K partials before the reduce adds them).
 */
function tiledGemmSteps(
  ctx: SharedPlanContext,
  key: string,
  m: WeightMatrix,
  p: PrefillPart,
  x: GPUBuffer,
  y: GPUBuffer,
  ldy: number,
  bias: GPUBuffer,
  biasOff: number | undefined,
  fold?: NormFold,
): Dispatch[] {
  const { opts, pipes } = ctx;
  const k = m.cols;
  const bigShape = shapeUniform(ctx, key, p, k, ldy, biasOff, 1, 1);
  const midShape = shapeUniform(ctx, key, p, k, ldy, biasOff, opts.splitTarget, maxSplitFor(k));
  const useBig = (t: number) => useBigTiles(t, p.rows, opts);
  const split = (t: number) => midSplit(t, p.rows, k, opts);
  const partials = ctx.splitK!;
  const base = fold ? 'gemm_tiled_rs' : 'gemm_tiled';
  const norm: Constants = fold ? { NPART: fold.NPART, DI: fold.DI, EPS: fold.EPS } : {};
  const big = weightKernel(ctx, base, m, { TM: 8, TN: 8, ...norm });
  const { tm, tn } = midTile(opts, k);
  const mid = weightKernel(ctx, base, m, { TM: tm, TN: tn, ...norm });
  const reduce = pipes.kernel('gemm_splitk_reduce', { TM: tm, TN: tn });
  // Profiles and tests know the default tile as gemm64; another one is named by its shape.
  const midLabel = tm === 4 && tn === 4 ? 'gemm64' : `gemm${16 * tm}x${16 * tn}`;
  const dims = ctx.act.dims;
  const gemm = { dims, X: x, W: p.W, bias, Y: y, P: partials, ...(fold ? { gss: fold.gss } : {}) };
  return [
    big.dispatch(`${key}.gemm128`, { ...gemm, shape: bigShape }, (t) =>
      useBig(t) ? [ceil(p.rows, 128), ceil(t, 128), 1] : [0, 0, 0],
    ),
    mid.dispatch(`${key}.${midLabel}`, { ...gemm, shape: midShape }, (t) =>
      useBig(t) ? [0, 0, 0] : [ceil(p.rows, 16 * tn), ceil(t, 16 * tm), split(t)],
    ),
    reduce.dispatch(`${key}.splitk`, { dims, bias, Y: y, shape: midShape, P: partials }, (t) =>
      !useBig(t) && split(t) > 1 ? [ceil(p.rows, 64), t, 1] : [0, 0, 0],
    ),
  ];
}
