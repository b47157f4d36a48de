/**
 * Dispatches of a prefill GEMM on subgroup matrices (shaders/gemm_sgmat.wgsl, chosen by sgmatKernel in
 * decisions.ts for f16 weights on devices that offer them): per row part of a weight matrix, the GEMM on
 * 128 x 128 tiles, split along K by sgmatSplit where the tiles alone leave the GPU idle (x_proj, out_proj
 * at short chunks), then gemm_splitk_reduce.wgsl with the same tile size (TM = TN = 8) to add the partials.
 */
import type { RowPart } from '../gpu/weightMatrix.ts';
import type { Dispatch } from '../kernels/pipelines.ts';
import { maxSplitFor, sgmatSplit } from '../decisions.ts';
import { ceil, type SharedPlanContext } from './context.ts';
import { shapeUniform } from './gemm.ts';

export function sgmatGemmSteps(
  ctx: SharedPlanContext,
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
  const shape = shapeUniform(ctx, key, p, k, ldy, biasOff, opts.splitTarget, maxSplitFor(k));
  const split = (t: number) => sgmatSplit(t, p.rows, k, opts);
  const dims = ctx.act.dims;
  const P = ctx.splitK!;
  const gemm = pipes.kernel(opts.sgmat!);
  const reduce = pipes.kernel('gemm_splitk_reduce', { TM: 8, TN: 8 });
  return [
    gemm.dispatch(`${key}.${opts.sgmat}`, { dims, X: x, W: p.buffer, bias, Y: y, P, shape }, (t) => [
      ceil(p.rows, 128),
      ceil(t, 128),
      split(t),
    ]),
    reduce.dispatch(`${key}.splitk`, { dims, bias, Y: y, shape, P }, (t) =>
      split(t) > 1 ? [ceil(p.rows, 64), t, 1] : [0, 0, 0],
    ),
  ];
}
