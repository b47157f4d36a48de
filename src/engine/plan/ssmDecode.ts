/**
 * The middle of a decode layer through shaders/ssm_decode.wgsl: dt_proj, the scan step and the gate, and with
 * `recompute` x_proj as well (one dispatch between the fused in_proj, which leaves the conv output in xc, and
 * out_proj), else reading the x_proj GEMV's output from dbc.
 */
import { ssmDecodeChannels } from '../decisions.ts';
import type { Dispatch } from '../kernels/pipelines.ts';
import { ceil, type PlanContext } from './context.ts';

/** Layer `l`'s ssm_decode dispatch; with `recompute`, x_proj must be one row part (decodeMiddle checks it). */
export function ssmDecodeStep(ctx: PlanContext, l: number, recompute: boolean): Dispatch {
  const { intermediateSize: di, stateSize: ds, timeStepRank: r } = ctx.config;
  const pl = ctx.weights.pl;
  const a = ctx.act;
  const xProj = ctx.weights.matrices.get(`layer${l}.x_proj`)!;
  const ch = ssmDecodeChannels(ds, recompute);
  const k = ctx.pipes.kernel('ssm_decode', {
    F16: ctx.opts.dtype === 'f16',
    XPROJ: recompute,
    DI: di,
    DS: ds,
    R: r,
    CH: ch,
    DTW_OFF: pl.dtProj,
    DTB_OFF: pl.dtBias,
    A_OFF: pl.a,
    D_OFF: pl.d,
  });
  const buffers = {
    // Without `recompute` the kernel reads dbcIn and never Wx, which is bound only because it is declared.
    Wx: xProj.parts[0]!.buffer,
    xc: a.xc,
    xz: a.xz,
    params: ctx.weights.layerParams[l]!,
    state: ctx.weights.work[l]!,
    out: a.y,
    dbcIn: a.dbc,
  };
  return k.dispatch(`layer${l}.ssm_decode`, buffers, () => [ceil(di, ch), 1, 1]);
}
