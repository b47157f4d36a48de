/**
 * Decode on GPUs through shaders/gemv_fused.wgsl: one dispatch per row part that folds RMSNorm into the
 * input, the conv step into in_proj's output, or the residual add into out_proj's (see the shader's flags).
 */
import { decodeRowsFor, fusedGemvKernel } from '../decisions.ts';
import { layerStateLayout } from '../kernels/layout.ts';
import type { Constants, Dispatch } from '../kernels/pipelines.ts';
import { ceil, uniformFields, weightKernel, type PlanContext, type SharedPlanContext } from './context.ts';

/** What a fused GEMV needs: the shared builders' context and the stand-ins for unused conv outputs. */
export type FusedGemvContext = SharedPlanContext & Pick<PlanContext, 'unusedRw'>;

/** One fused-GEMV dispatch per row part of matrix `key`. */
export function fusedGemvSteps(
  ctx: FusedGemvContext,
  key: string,
  x: GPUBuffer,
  y: GPUBuffer,
  params: GPUBuffer,
  biasOff: number | undefined,
  consts: Constants,
  conv?: { state: GPUBuffer; xc: GPUBuffer },
): Dispatch[] {
  const m = ctx.weights.matrices.get(key)!;
  const kernel = fusedGemvKernel(ctx.opts.useSubgroups);
  return m.parts.map((p) => {
    const rows = decodeRowsFor(p.rows, ctx.opts.decodeRows, consts['NORM'] ? m.cols : 0);
    const k = weightKernel(ctx, kernel, m, { ROWS: rows, STEPS4: ctx.opts.decodeSteps === 4, ...consts });
    const shape = uniformFields(ctx, `${key}.shape`, kernel, 'shape', {
      N: p.rows,
      K: m.cols,
      LDY: 0,
      COL0: p.row0,
      BIAS_OFF: (biasOff ?? 0) + p.row0,
      HAS_BIAS: biasOff !== undefined ? 1 : 0,
      SPLIT_TARGET: 0,
      MAX_SPLIT: 0,
    });
    const [state, xc] = conv ? [conv.state, conv.xc] : ctx.unusedRw;
    const buffers = { shape, X: x, W: p.buffer, params, Y: y, state, xc };
    return k.dispatch(`${key}.${k.kernel}`, buffers, () => [ceil(p.rows, rows), 1, 1]);
  });
}

/**
 * Decode body of the hardware variant: embed, then per layer norm+in_proj+conv, the middle (`middle(l)`: x_proj
 * and the scan, or ssm_decode alone), out_proj+residual.
 */
export function fusedDecodeBody(
  ctx: PlanContext,
  embed: Dispatch[],
  middle: (l: number) => Dispatch[],
): Dispatch[] {
  const c = ctx.config;
  const a = ctx.act;
  const pl = ctx.weights.pl;
  const sl = layerStateLayout(c);
  const steps: Dispatch[] = [...embed];
  for (let l = 0; l < c.numLayers; l++) {
    const params = ctx.weights.layerParams[l]!;
    const bias = c.useBias ? pl.inProjBias : undefined;
    steps.push(
      ...fusedGemvSteps(
        ctx,
        `layer${l}.in_proj`,
        a.resid,
        a.xz,
        params,
        bias,
        {
          NORM: true,
          EPS: c.layerNormEpsilon,
          NW_OFF: pl.norm,
          CONV: true,
          DI: c.intermediateSize,
          DC: c.convKernel,
          HAS_CONV_BIAS: c.useConvBias,
          CW_OFF: pl.convWeight,
          CB_OFF: pl.convBias,
          CONV_OFF: sl.conv,
        },
        { state: ctx.weights.work[l]!, xc: a.xc },
      ),
    );
    steps.push(...middle(l));
    const outBias = c.useBias ? pl.outProjBias : undefined;
    steps.push(...fusedGemvSteps(ctx, `layer${l}.out_proj`, a.y, a.resid, params, outBias, { ACCUM: true }));
  }
  return steps;
}
