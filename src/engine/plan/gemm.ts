/**
 * Dispatches of the unfused matrix products: prefill GEMMs (gemm_tiled.wgsl on GPUs, gemm_reg.wgsl on
 * SwiftShader) and decode GEMVs (gemv.wgsl, gemv_coop.wgsl, gemv_subgroup.wgsl), one or more per row part of
 * a weight matrix.
 */
import type { RowPart } from '../gpu/weightMatrix.ts';
import type { Dispatch } from '../kernels/pipelines.ts';
import { gemmKernel, maxSplitFor, midSplit, useBigTiles } from '../decisions.ts';
import { ceil, uniformWords, type PlanContext } from './context.ts';

/** A Shape uniform (shaders/gemm*.wgsl, gemv*.wgsl) for row part `p` of matrix `key` with `k` inputs. */
function shapeUniform(
  ctx: PlanContext,
  key: string,
  p: RowPart,
  k: number,
  ldy: number,
  biasOff: number | undefined,
  splitTarget = 0,
  maxSplit = 0,
): GPUBuffer {
  const words = [
    p.rows,
    k,
    ldy,
    p.row0,
    (biasOff ?? 0) + p.row0,
    biasOff !== undefined ? 1 : 0,
    splitTarget,
    maxSplit,
  ];
  return uniformWords(ctx, `${key}.shape`, 32, words);
}

/** y[., ldy] = x · matrix `key`ᵀ (+ bias at `biasOff` of `bias`), for a chunk ('gemm') or one token ('gemv'). */
export function gemmSteps(
  ctx: PlanContext,
  key: string,
  x: GPUBuffer,
  y: GPUBuffer,
  ldy: number,
  bias: GPUBuffer,
  biasOff: number | undefined,
  mode: 'gemm' | 'gemv',
): Dispatch[] {
  const m = ctx.weights.matrices.get(key)!;
  const kernel = gemmKernel(mode, ctx.opts.variant, ctx.opts.useSubgroups);
  if (kernel === 'gemm_tiled') {
    return m.parts.flatMap((p) => tiledGemmSteps(ctx, key, m.cols, p, x, y, ldy, bias, biasOff));
  }
  return m.parts.map((p) => {
    const shape = shapeUniform(ctx, key, p, m.cols, ldy, biasOff);
    const pipeline = ctx.pipes.get(kernel, { F16: ctx.opts.dtype === 'f16' });
    const dims = mode === 'gemm' ? ctx.act.dims : undefined;
    const bindGroup = ctx.pipes.bind(pipeline, `${key}.${kernel}`, [dims, x, p.buffer, bias, y, shape]);
    const size: Dispatch['size'] =
      kernel === 'gemm_reg'
        ? (t) => [ceil(ceil(p.rows, 4), 64), ceil(t, 4), 1]
        : kernel === 'gemv'
          ? () => [ceil(ceil(p.rows, 4), 64), 1, 1]
          : () => [p.rows, 1, 1];
    return { label: `${key}.${kernel}`, pipeline, bindGroup, size };
  });
}

/**
 * One row part of a prefill GEMM on GPUs (shaders/gemm_tiled.wgsl): three prebuilt dispatches of which the
 * chunk length picks one or two (the others get zero workgroups and are skipped): 128 x 128 tiles when
 * they alone give `bigMinTiles` workgroups (never by default), else 64 x 64 tiles, with split-K along z
 * when even those are too few (x_proj's 80 outputs, out_proj at short chunks), then the split-K reduce.
 */
function tiledGemmSteps(
  ctx: PlanContext,
  key: string,
  k: number,
  p: RowPart,
  x: GPUBuffer,
  y: GPUBuffer,
  ldy: number,
  bias: GPUBuffer,
  biasOff: number | undefined,
): Dispatch[] {
  const { opts, pipes } = ctx;
  const f16 = opts.dtype === 'f16';
  const bigShape = shapeUniform(ctx, key, p, k, ldy, biasOff, 1, 1);
  const midShape = shapeUniform(ctx, key, p, k, ldy, biasOff, opts.splitTarget, maxSplitFor(k));
  const useBig = (t: number) => useBigTiles(t, p.rows, opts);
  const split = (t: number) => midSplit(t, p.rows, k, opts);
  const partials = ctx.splitK!;
  const big = pipes.get('gemm_tiled', { F16: f16, TM: 8, TN: 8 });
  const mid = pipes.get('gemm_tiled', { F16: f16, TM: 4, TN: 4 });
  const reduce = pipes.get('gemm_splitk_reduce', { TM: 4, TN: 4 });
  const d = ctx.act.dims;
  return [
    {
      label: `${key}.gemm128`,
      pipeline: big,
      bindGroup: pipes.bind(big, `${key}.gemm128`, [d, x, p.buffer, bias, y, bigShape, partials]),
      size: (t) => (useBig(t) ? [ceil(p.rows, 128), ceil(t, 128), 1] : [0, 0, 0]),
    },
    {
      label: `${key}.gemm64`,
      pipeline: mid,
      bindGroup: pipes.bind(mid, `${key}.gemm64`, [d, x, p.buffer, bias, y, midShape, partials]),
      size: (t) => (useBig(t) ? [0, 0, 0] : [ceil(p.rows, 64), ceil(t, 64), split(t)]),
    },
    {
      label: `${key}.splitk`,
      pipeline: reduce,
      bindGroup: pipes.bind(reduce, `${key}.splitk`, [d, undefined, undefined, bias, y, midShape, partials]),
      size: (t) => (!useBig(t) && split(t) > 1 ? [ceil(p.rows, 64), t, 1] : [0, 0, 0]),
    },
  ];
}
