/**
 * Dispatches of the per-token kernels around the matrix products: the embedding gather, RMSNorm (with the
 * residual add), the causal conv, dt_proj and the selective scan.
 */
import { dtProjFirst, reductionWidth, scanChannelsPerGroup, scanKernel } from '../decisions.ts';
import { layerStateLayout } from '../kernels/layout.ts';
import type { Constants, Dispatch } from '../kernels/pipelines.ts';
import { ceil, uniformWords, type PlanContext } from './context.ts';
import { gemmSteps } from './gemm.ts';

/** The embedding gather, one dispatch per row part of the embedding (shaders/embed.wgsl). */
export function embedSteps(ctx: PlanContext): Dispatch[] {
  const dm = ctx.config.hiddenSize;
  const a = ctx.act;
  return ctx.weights.matrices.get('embedding')!.parts.map((p) => {
    const range = uniformWords(ctx, 'embed.part', 16, [p.row0, p.rows, 0, 0]);
    const pipeline = ctx.pipes.get('embed', { DM: dm, F16: ctx.opts.dtype === 'f16' });
    const bindGroup = ctx.pipes.bind(pipeline, 'embed', [a.dims, a.tokens, p.buffer, a.resid, range]);
    return { label: 'embed', pipeline, bindGroup, size: (t) => [ceil(dm, 64), t, 1] };
  });
}

/** RMSNorm of each token's residual (after adding `delta` when `add`), weight at `wOff` of `weight`. */
export function rmsnormStep(
  ctx: PlanContext,
  label: string,
  add: boolean,
  weight: GPUBuffer,
  wOff: number,
): Dispatch {
  const a = ctx.act;
  const pipeline = ctx.pipes.get('rmsnorm', {
    DM: ctx.config.hiddenSize,
    ADD: add,
    EPS: ctx.config.layerNormEpsilon,
    W_OFF: wOff,
    WG: reductionWidth(ctx.opts.variant, 64),
  });
  const bindGroup = ctx.pipes.bind(pipeline, label, [a.dims, a.delta, a.resid, weight, a.normed]);
  return { label, pipeline, bindGroup, size: (t) => [t, 1, 1] };
}

/** Layer `l`'s selective scan (dt_proj + scan + gate); with `dtPre`, Δ comes precomputed in `dt`. */
export function scanStep(ctx: PlanContext, l: number, dtPre = false): Dispatch {
  const { intermediateSize: di, stateSize: ds, timeStepRank: r } = ctx.config;
  const pl = ctx.weights.pl;
  const a = ctx.act;
  const consts: Constants = {
    DI: di,
    DS: ds,
    R: r,
    DTW_OFF: pl.dtProj,
    DTB_OFF: pl.dtBias,
    A_OFF: pl.a,
    D_OFF: pl.d,
  };
  const kernel = scanKernel(ctx.opts.variant);
  const coop = kernel === 'scan_coop';
  const cpw = scanChannelsPerGroup(ds);
  if (coop) consts['CPW'] = cpw;
  if (coop) consts['DT_PRE'] = dtPre;
  const pipeline = ctx.pipes.get(kernel, consts);
  return {
    label: `layer${l}.scan`,
    pipeline,
    bindGroup: ctx.pipes.bind(pipeline, `layer${l}.scan`, [
      a.dims,
      a.dbc,
      a.xz,
      a.xc,
      ctx.weights.layerParams[l]!,
      ctx.weights.work[l]!,
      a.y,
      coop ? a.dt : undefined,
    ]),
    size: () => [coop ? ceil(di, cpw) : ceil(di, 64), 1, 1],
  };
}

/** The unfused body: embed, then per layer norm, in_proj, conv, x_proj, (dt_proj,) scan, out_proj. */
export function layerSteps(ctx: PlanContext, embed: Dispatch[], mode: 'gemm' | 'gemv'): Dispatch[] {
  const c = ctx.config;
  const a = ctx.act;
  const pl = ctx.weights.pl;
  const sl = layerStateLayout(c);
  const { hiddenSize: dm, intermediateSize: di, stateSize: ds, timeStepRank: r } = c;
  const steps: Dispatch[] = [...embed];
  for (let l = 0; l < c.numLayers; l++) {
    const params = ctx.weights.layerParams[l]!;
    const work = ctx.weights.work[l]!;
    steps.push(rmsnormStep(ctx, `layer${l}.norm`, l > 0, params, pl.norm));
    const inBias = c.useBias ? pl.inProjBias : undefined;
    steps.push(...gemmSteps(ctx, `layer${l}.in_proj`, a.normed, a.xz, 2 * di, params, inBias, mode));
    const convPipe = ctx.pipes.get('conv1d', {
      DI: di,
      DC: c.convKernel,
      HAS_BIAS: c.useConvBias,
      CW_OFF: pl.convWeight,
      CB_OFF: pl.convBias,
      CONV_OFF: sl.conv,
    });
    steps.push({
      label: `layer${l}.conv`,
      pipeline: convPipe,
      bindGroup: ctx.pipes.bind(convPipe, `layer${l}.conv`, [a.dims, a.xz, params, work, a.xc]),
      // 8 tokens per invocation (TT in shaders/conv1d.wgsl): parallel over the chunk's tokens.
      size: (t) => [ceil(di, 64), ceil(t, 8), 1],
    });
    steps.push(...gemmSteps(ctx, `layer${l}.x_proj`, a.xc, a.dbc, r + 2 * ds, params, undefined, mode));
    const dtPre = dtProjFirst(mode, ctx.opts.variant);
    if (dtPre) {
      const dtPipe = ctx.pipes.get('dt_proj', {
        DI: di,
        DS: ds,
        R: r,
        DTW_OFF: pl.dtProj,
        DTB_OFF: pl.dtBias,
      });
      steps.push({
        label: `layer${l}.dt_proj`,
        pipeline: dtPipe,
        bindGroup: ctx.pipes.bind(dtPipe, `layer${l}.dt_proj`, [a.dims, a.dbc, params, a.dt]),
        size: (t) => [ceil(di, 64), ceil(t, 64), 1],
      });
    }
    steps.push(scanStep(ctx, l, dtPre));
    const outBias = c.useBias ? pl.outProjBias : undefined;
    steps.push(...gemmSteps(ctx, `layer${l}.out_proj`, a.y, a.delta, dm, params, outBias, mode));
  }
  return steps;
}
