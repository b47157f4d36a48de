/**
 * Dispatches of a prefill GEMM on subgroup matrices (shaders/gemm_sgmm.wgsl, the variant and overrides
 * sgmatKernel in sgmmDecisions.ts chose for f16 weights on devices that offer them): per row part of a weight
 * matrix, to_f16.wgsl first where the variant reads X as f16 (to_f16_x2 for the _x2 variants: X as hi + lo
 * halves), into one scratch buffer of whole 256-row tiles, zero past the chunk, then the GEMM on BM x BN
 * tiles, split along K by sgmatSplit where the tiles alone leave the GPU idle (x_proj, out_proj at short
 * chunks), then gemm_splitk_reduce.wgsl with the same tile size to add the partials. A matrix run in several
 * parts or column blocks converts X once, before its first subgroup-matrix GEMM (`convertX`).
 */
import type { Dispatch } from '../kernels/pipelines.ts';
import { maxSplitFor, sgmatSplit } from '../decisions.ts';
import { sgmmConstants, sgmmLayout, sgmmXRows } from '../sgmmDecisions.ts';
import { ceil, uniformFields, type SharedPlanContext } from './context.ts';
import { shapeUniform, type PrefillPart } from './gemm.ts';

// One f16 copy of X per engine (keyed by its activations), sized for the widest input of any matrix; twice
// that for the _x2 variants (hi and lo).
const halfX = new WeakMap<object, GPUBuffer>();
function halfXBuffer(ctx: SharedPlanContext, halves: number): GPUBuffer {
  let b = halfX.get(ctx.act);
  if (!b) {
    const widest = Math.max(...[...ctx.weights.matrices.values()].map((m) => m.cols));
    b = ctx.buffer('sgmm.xh', halves * sgmmXRows(ctx.opts.chunkSize) * widest * 2, GPUBufferUsage.STORAGE);
    halfX.set(ctx.act, b);
  }
  return b;
}

export function sgmatGemmSteps(
  ctx: SharedPlanContext,
  key: string,
  k: number,
  p: PrefillPart,
  x: GPUBuffer,
  y: GPUBuffer,
  ldy: number,
  bias: GPUBuffer,
  biasOff: number | undefined,
  convertX = true,
): Dispatch[] {
  const { opts, pipes } = ctx;
  const choice = opts.sgmat!;
  const l = sgmmLayout(choice);
  const shape = shapeUniform(ctx, key, p, k, ldy, biasOff, opts.splitTarget, maxSplitFor(k));
  const split = (t: number) => sgmatSplit(t, p.rows, k, opts, l.BM, l.BN);
  const dims = ctx.act.dims;
  const P = ctx.splitK!;
  const rows = sgmmXRows(opts.chunkSize);
  const gemm = pipes.kernel(choice.kernel, sgmmConstants(choice, opts.chunkSize));
  const reduce = pipes.kernel('gemm_splitk_reduce', { TM: l.BM / 16, TN: l.BN / 16 });
  const steps: Dispatch[] = [];
  const X = l.halfX ? halfXBuffer(ctx, l.splitX ? 2 : 1) : x;
  if (l.halfX && convertX) {
    const cvtKernel = l.splitX ? 'to_f16_x2' : 'to_f16';
    const cvt = uniformFields(ctx, `${key}.cvt`, cvtKernel, 'cvt', { K: k, ROWS: rows });
    const groups = ceil((rows * k) / 2, 256);
    const gx = Math.min(groups, 65535);
    steps.push(
      pipes
        .kernel(cvtKernel)
        .dispatch(`${key}.${cvtKernel}`, { dims, X: x, Xh: X, cvt }, () => [gx, ceil(groups, gx), 1]),
    );
  }
  steps.push(
    gemm.dispatch(`${key}.${choice.kernel}`, { dims, X, W: p.W, bias, Y: y, P, shape }, (t) => [
      ceil(p.rows, l.BN),
      ceil(t, l.BM),
      split(t),
    ]),
    reduce.dispatch(`${key}.splitk`, { dims, bias, Y: y, shape, P }, (t) =>
      split(t) > 1 ? [ceil(p.rows, 64), t, 1] : [0, 0, 0],
    ),
  );
  return steps;
}
