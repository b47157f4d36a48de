/**
 * Dispatches of the per-token kernels around the matrix products: the embedding gather, RMSNorm (with the
 * residual add), the causal conv, dt_proj and the selective scan.
 */
import { dtProjFirst, NORM_WG_GPU, reductionWidth, scanChannelsPerGroup, scanKernel } from '../decisions.ts';
import { layerStateLayout } from '../kernels/layout.ts';
import type { Constants, Dispatch } from '../kernels/pipelines.ts';
import { ceil, uniformFields, weightKernel, type PlanContext, type SharedPlanContext } from './context.ts';
import { gemmSteps } from './gemm.ts';

/** The embedding gather, one dispatch per row part of the embedding (shaders/embed.wgsl). */
export function embedSteps(ctx: SharedPlanContext): Dispatch[] {
  const dm = ctx.config.hiddenSize;
  const a = ctx.act;
  const m = ctx.weights.matrices.get('embedding')!;
  return m.parts.map((p) => {
    const part = uniformFields(ctx, 'embed.part', 'embed', 'part', { ROW0: p.row0, ROWS: p.rows });
    const k = weightKernel(ctx, 'embed', m, { DM: dm });
    const buffers = { dims: a.dims, tokens: a.tokens, W: p.buffer, resid: a.resid, part };
    return k.dispatch('embed', buffers, (t) => [ceil(dm, 64), t, 1]);
  });
}

/** RMSNorm of each token's residual (after adding `delta` when `add`), weight at `wOff` of `weight`. */
export function rmsnormStep(
  ctx: SharedPlanContext,
  label: string,
  add: boolean,
  weight: GPUBuffer,
  wOff: number,
): Dispatch {
  const a = ctx.act;
  const k = ctx.pipes.kernel('rmsnorm', {
    DM: ctx.config.hiddenSize,
    ADD: add,
    EPS: ctx.config.layerNormEpsilon,
    W_OFF: wOff,
    WG: reductionWidth(ctx.opts.variant, NORM_WG_GPU),
  });
  const buffers = { dims: a.dims, delta: a.delta, resid: a.resid, weight, out: a.normed };
  return k.dispatch(label, buffers, (t) => [t, 1, 1]);
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
  const label = `layer${l}.scan`;
  const buffers = {
    dims: a.dims,
    dbc: a.dbc,
    xz: a.xz,
    xc: a.xc,
    params: ctx.weights.layerParams[l]!,
    state: ctx.weights.work[l]!,
    out: a.y,
  };
  // Only the cooperative scan reads a precomputed Δ (dtIn).
  return coop
    ? ctx.pipes
        .kernel('scan_coop', consts)
        .dispatch(label, { ...buffers, dtIn: a.dt }, () => [ceil(di, cpw), 1, 1])
    : ctx.pipes.kernel('scan', consts).dispatch(label, buffers, () => [ceil(di, 64), 1, 1]);
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
    const conv = ctx.pipes.kernel('conv1d', {
      DI: di,
      DC: c.convKernel,
      HAS_BIAS: c.useConvBias,
      CW_OFF: pl.convWeight,
      CB_OFF: pl.convBias,
      CONV_OFF: sl.conv,
    });
    const convBuffers = { dims: a.dims, xz: a.xz, params, state: work, xc: a.xc };
    // 8 tokens per invocation (TT in shaders/conv1d.wgsl): parallel over the chunk's tokens.
    steps.push(conv.dispatch(`layer${l}.conv`, convBuffers, (t) => [ceil(di, 64), ceil(t, 8), 1]));
    steps.push(...gemmSteps(ctx, `layer${l}.x_proj`, a.xc, a.dbc, r + 2 * ds, params, undefined, mode));
    const dtPre = dtProjFirst(mode, ctx.opts.variant);
    if (dtPre) {
      const dtProj = ctx.pipes.kernel('dt_proj', {
        DI: di,
        DS: ds,
        R: r,
        DTW_OFF: pl.dtProj,
        DTB_OFF: pl.dtBias,
      });
      const dtBuffers = { dims: a.dims, dbc: a.dbc, params, dt: a.dt };
      steps.push(dtProj.dispatch(`layer${l}.dt_proj`, dtBuffers, (t) => [ceil(di, 64), ceil(t, 64), 1]));
    }
    steps.push(scanStep(ctx, l, dtPre));
    const outBias = c.useBias ? pl.outProjBias : undefined;
    steps.push(...gemmSteps(ctx, `layer${l}.out_proj`, a.y, a.delta, dm, params, outBias, mode));
  }
  return steps;
}
