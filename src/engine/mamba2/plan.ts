/**
 * Mamba-2's dispatch plan. Per chunk of T tokens: embed → per layer [RMSNorm (+ the previous out_proj) →
 * in_proj → m2_conv → scan → m2_gated_norm → out_proj] → norm_f → LM head. On GPUs, from d_inner 4,096, the
 * RMSNorm also makes in_proj's rows past its last whole tile (normRowsAt); with gatedNorm 'fold' the gated norm
 * folds into the fused SSD and out_proj's GEMM (foldsNorm). The matrices, the embedding, the
 * RMSNorm, the LM head, NLL and the sampler are the Mamba-1 engine's builders (plan/gemm.ts, plan/layer.ts,
 * plan/assemble.ts), so both families get the same kernel choices (tiled / split-K GEMM for prefill, the GEMV
 * variants for decode). Prefill scans with the chunked SSD (ssd.ts: the fused pair on GPUs, three passes else), decode with the token step
 * (m2_scan_step); both start from the layer's working state and leave the final one there. On GPUs decode
 * takes 3 dispatches per layer (fusedDecodeSteps): in_proj's fused GEMV with the RMSNorm before it and the conv
 * step after it, the coalesced token step with the gate (m2_scan_decode), out_proj's fused GEMV normalising its
 * gated input and adding into the residual; norm_f folds into the LM head. continueMany's batched plan
 * (batch.ts) runs the same layers with the conv and the scan segmented per sequence.
 */
import type { Mamba2Config } from '../../model/mamba2Config.ts';
import type { Mamba2Activations } from '../activations.ts';
import { fusedDecode, NORM_WG_GPU, reductionWidth } from '../decisions.ts';
import {
  gatedNormKernel,
  m2ConvKernel,
  m2InProjSplits,
  NORM_ROWS_WG,
  m2ScanDecodeKernel,
  m2ScanRows,
} from './decisions.ts';
import type { Dispatch } from '../kernels/pipelines.ts';
import { outputSteps, type DispatchPlan } from '../plan/assemble.ts';
import { ceil } from '../plan/context.ts';
import { fusedGemvSteps, type FusedGemvContext } from '../plan/fusedGemv.ts';
import { gemmSteps, prefillParts, type NormFold } from '../plan/gemm.ts';
import { weightKernel } from '../plan/context.ts';
import { embedSteps, rmsnormStep } from '../plan/layer.ts';
import { mamba2StateLayout } from '../stateIO.ts';
import type { GpuMamba2Weights } from './placement.ts';
import { ssdGateParts, ssdSteps, type SsdLayout, type SsdShape } from './ssd.ts';

export interface Mamba2PlanContext extends FusedGemvContext {
  config: Mamba2Config;
  weights: GpuMamba2Weights;
  act: Mamba2Activations;
}

type Mode = 'gemm' | 'gemv';

/**
 * Where the GPU prefill splits each layer's in_proj GEMM into dispatches, by matrix key (the plan context's
 * prefillSplits): two parts where `split` (ResolvedOptions.m2InProjSplit) says so, at the row m2InProjSplits
 * gives (`at` forces one). Decode's fused GEMV still reads each part whole.
 */
export function mamba2PrefillSplits(
  c: Mamba2Config,
  split: boolean,
  at?: number,
): Map<string, readonly number[]> {
  const splits = m2InProjSplits(c, split, at);
  return new Map(Array.from({ length: c.numLayers }, (_, l) => [`layer${l}.in_proj`, splits]));
}

/** One scan's sizes (ssd.ts's SsdShape): heads, head_dim, groups, state_size. */
export const scanShape = (c: Mamba2Config): SsdShape => ({
  H: c.numHeads,
  P: c.headDim,
  G: c.nGroups,
  N: c.stateSize,
});

/** Where the scan kernels find Δ (in_proj's columns, its clamp), dt_bias, A_log, D and the state's parts. */
export function scanLayout(ctx: Mamba2PlanContext): SsdLayout {
  const c = ctx.config;
  const pl = ctx.weights.pl;
  const sl = mamba2StateLayout(c);
  return {
    DTB_OFF: pl.dtBias,
    DT_MIN: c.timeStepLimit[0],
    // WGSL has no infinity: the largest f32 stands for an open upper bound.
    DT_MAX: Math.min(c.timeStepLimit[1], 3.4028234e38),
    LDP: c.inProjSize,
    DT_COL: c.intermediateSize + c.convDim,
    A_OFF: pl.aLog,
    D_OFF: pl.d,
    SSM_OFF: sl.ssm,
    DTS_OFF: sl.dtSum,
  };
}

/**
 * Whether this plan folds the gated norm into the SSD and out_proj (GatedNormForm 'fold'; the options have
 * checked that the SSD form and out_proj's GEMM allow it): prefill chunks only.
 */
const foldsNorm = (ctx: Mamba2PlanContext, mode: Mode) => mode === 'gemm' && ctx.opts.gatedNorm === 'fold';

/** The fold's out_proj side (gemm_tiled_rs): where the fused SSD left its Σ g², how many, over how many channels. */
function normFold(ctx: Mamba2PlanContext): NormFold {
  const c = ctx.config;
  return {
    gss: ctx.act.gss,
    NPART: ssdGateParts(scanShape(c), ctx.opts.m2Ssd),
    DI: c.intermediateSize,
    EPS: c.layerNormEpsilon,
  };
}

/**
 * Layer `l`'s SSM: the chunked SSD for a chunk ('gemm', ssd.ts), the token step for decode ('gemv'); with
 * `fold`, the fused SSD's outputs gated and weighted for the folded norm (z at column 0 of proj).
 */
function scanSteps(ctx: Mamba2PlanContext, l: number, mode: Mode, fold = false): Dispatch[] {
  const a = ctx.act;
  const params = ctx.weights.layerParams[l]!;
  const state = ctx.weights.work[l]!;
  const shape = scanShape(ctx.config);
  const layout = scanLayout(ctx);
  const { dims, xbc, proj, cum, dl, cs, y } = a;
  if (mode === 'gemv') {
    const k = ctx.pipes.kernel('m2_scan_step', { ...layout, ...shape });
    const rows = ceil(shape.H * shape.P, 64);
    return [k.dispatch(`layer${l}.scan`, { dims, xbc, proj, params, state, y }, () => [rows, 1, 1])];
  }
  const buffers = { dims, xbc, proj, params, cum, dl, cs, state, y };
  const gate = fold ? { gss: a.gss, Z_COL: 0, GW_OFF: ctx.weights.pl.gateNorm } : undefined;
  return ssdSteps(ctx.pipes, `layer${l}.`, shape, layout, buffers, ctx.opts.m2Ssd, gate);
}

/** The conv's constants (m2_conv, m2_conv_seg): channels, filter, where xBC sits in proj, weights, state. */
export function convConstants(ctx: Mamba2PlanContext) {
  const c = ctx.config;
  const pl = ctx.weights.pl;
  return {
    CD: c.convDim,
    DC: c.convKernel,
    LDP: c.inProjSize,
    XBC_COL: c.intermediateSize,
    HAS_BIAS: c.useConvBias,
    CW_OFF: pl.convWeight,
    CB_OFF: pl.convBias,
    CONV_OFF: mamba2StateLayout(c).conv,
  };
}

/** m2_conv4's constants: m2_conv's without DC (the kernel is written for d_conv 4 alone). */
function conv4Constants(consts: ReturnType<typeof convConstants>) {
  const { DC, ...rest } = consts;
  void DC;
  return rest;
}

/**
 * The row from which the RMSNorm before in_proj makes in_proj's rows (ResolvedOptions.m2NormRows): the split
 * row, where the prefill blocks have a boundary there (so the GEMM can stop at it) and the rows from it lie in one
 * row part of the weights (one binding); undefined where not, and the thin GEMM stays.
 */
export function normRowsAt(ctx: Mamba2PlanContext): number | undefined {
  if (!ctx.opts.m2NormRows) return undefined;
  const c = ctx.config;
  const key = 'layer0.in_proj';
  const row = m2InProjSplits(c, true, ctx.opts.m2InProjSplitAt)[0]!;
  const m = ctx.weights.matrices.get(key)!;
  const part = m.parts.find((p) => p.row0 <= row && row < p.row0 + p.rows);
  const whole = part !== undefined && part.row0 + part.rows === c.inProjSize;
  const boundary = prefillParts(ctx, key, m).some((b) => b.row0 === row);
  return whole && boundary ? row : undefined;
}

/**
 * Layer `l`'s RMSNorm (+ the previous out_proj) and in_proj's rows from `row` on for every token
 * (shaders/rmsnorm_rows.wgsl), into `normed` and `proj`.
 */
function normRowsStep(ctx: Mamba2PlanContext, l: number, row: number): Dispatch {
  const c = ctx.config;
  const a = ctx.act;
  const pl = ctx.weights.pl;
  const m = ctx.weights.matrices.get(`layer${l}.in_proj`)!;
  const part = m.parts.find((p) => p.row0 <= row && row < p.row0 + p.rows)!;
  const k = weightKernel(ctx, 'rmsnorm_rows', m, {
    DM: c.hiddenSize,
    ADD: l > 0,
    EPS: c.layerNormEpsilon,
    W_OFF: pl.norm,
    WG: NORM_ROWS_WG,
    ROWS: c.inProjSize - row,
    ROW0: row - part.row0,
    COL0: row,
    LDP: c.inProjSize,
    HAS_BIAS: c.useBias,
    BIAS_OFF: c.useBias ? pl.inProjBias + row : 0,
  });
  const params = ctx.weights.layerParams[l]!;
  const buffers = {
    dims: a.dims,
    delta: a.delta,
    W: part.buffer,
    resid: a.resid,
    weight: params,
    out: a.normed,
    proj: a.proj,
  };
  return k.dispatch(`layer${l}.norm`, buffers, (t) => [t, 1, 1]);
}

/** Layer `l`'s gated RMSNorm: y · silu(z) normalised, into `gated` (shaders/m2_gated_norm.wgsl). */
export function gatedNormStep(ctx: Mamba2PlanContext, l: number): Dispatch {
  const c = ctx.config;
  const a = ctx.act;
  // transformers 5.17 normalises all of d_inner at once, whatever n_groups is (GS = DI).
  const wg = reductionWidth(ctx.opts.variant, NORM_WG_GPU);
  const form = ctx.opts.variant === 'hardware' ? ctx.opts.gatedNorm : 'loop';
  const normKernel = gatedNormKernel(c.intermediateSize, c.intermediateSize, c.inProjSize, 0, form, wg);
  const norm = ctx.pipes.kernel(normKernel, {
    DI: c.intermediateSize,
    GS: c.intermediateSize,
    LDP: c.inProjSize,
    Z_COL: 0,
    W_OFF: ctx.weights.pl.gateNorm,
    EPS: c.layerNormEpsilon,
    WG: wg,
  });
  const weight = ctx.weights.layerParams[l]!;
  const normBuffers = { dims: a.dims, y: a.y, proj: a.proj, weight, out: a.gated };
  return norm.dispatch(`layer${l}.gated_norm`, normBuffers, (t) => [t, 1, 1]);
}

/**
 * Layer `l` between its projections: the conv over x, B and C, the SSM, the gated RMSNorm (none of its own with
 * `fold`: the SSD gates, out_proj scales).
 */
function mixerSteps(ctx: Mamba2PlanContext, l: number, mode: Mode, fold = false): Dispatch[] {
  const c = ctx.config;
  const a = ctx.act;
  const consts = convConstants(ctx);
  const kernel = m2ConvKernel(ctx.opts.m2Conv, c.convKernel, c.convDim, c.inProjSize, c.intermediateSize);
  const params = ctx.weights.layerParams[l]!;
  const convBuffers = { dims: a.dims, proj: a.proj, params, state: ctx.weights.work[l]!, xbc: a.xbc };
  const conv =
    kernel === 'm2_conv4'
      ? ctx.pipes
          .kernel(kernel, conv4Constants(consts))
          .dispatch(`layer${l}.conv`, convBuffers, (t) => [ceil(c.convDim, 256), ceil(t, 4), 1])
      : ctx.pipes
          .kernel(kernel, consts)
          .dispatch(`layer${l}.conv`, convBuffers, (t) => [ceil(c.convDim, 64), ceil(t, 8), 1]);
  const scan = scanSteps(ctx, l, mode, fold);
  return fold ? [conv, ...scan] : [conv, ...scan, gatedNormStep(ctx, l)];
}

/**
 * Every layer on a chunk ('gemm') or on one token ('gemv'), after the embedding: RMSNorm, in_proj, `mixer(l)`
 * (the conv, the scan and the gated norm; the batched plan passes its segmented ones), out_proj. Without a
 * `mixer`, a prefill plan may fold the gated norm (foldsNorm): out_proj then reads the SSD's gated y.
 */
export function layerSteps(
  ctx: Mamba2PlanContext,
  mode: Mode,
  mixer?: (l: number) => Dispatch[],
): Dispatch[] {
  const c = ctx.config;
  const a = ctx.act;
  const pl = ctx.weights.pl;
  const fold = mixer === undefined && foldsNorm(ctx, mode);
  const mix = mixer ?? ((l: number) => mixerSteps(ctx, l, mode, fold));
  const outIn = fold ? a.y : a.gated;
  const outFold = fold ? normFold(ctx) : undefined;
  const rowsAt = mode === 'gemm' ? normRowsAt(ctx) : undefined;
  const steps: Dispatch[] = embedSteps(ctx);
  for (let l = 0; l < c.numLayers; l++) {
    const params = ctx.weights.layerParams[l]!;
    steps.push(
      rowsAt !== undefined
        ? normRowsStep(ctx, l, rowsAt)
        : rmsnormStep(ctx, `layer${l}.norm`, l > 0, params, pl.norm),
    );
    const inBias = c.useBias ? pl.inProjBias : undefined;
    const inKey = `layer${l}.in_proj`;
    steps.push(
      ...gemmSteps(ctx, inKey, a.normed, a.proj, c.inProjSize, params, inBias, mode, undefined, rowsAt),
    );
    steps.push(...mix(l));
    const outBias = c.useBias ? pl.outProjBias : undefined;
    steps.push(
      ...gemmSteps(ctx, `layer${l}.out_proj`, outIn, a.delta, c.hiddenSize, params, outBias, mode, outFold),
    );
  }
  return steps;
}

/** Layer `l`'s token step on GPUs: the SSM update and y · silu(z) into `gated` (shaders/m2_scan_decode.wgsl). */
function scanDecodeStep(ctx: Mamba2PlanContext, l: number): Dispatch {
  const c = ctx.config;
  const a = ctx.act;
  const pl = ctx.weights.pl;
  const sl = mamba2StateLayout(c);
  const rows = m2ScanRows(ctx.opts.decodeRows);
  const k = ctx.pipes.kernel(m2ScanDecodeKernel(ctx.opts.useSubgroups), {
    H: c.numHeads,
    P: c.headDim,
    G: c.nGroups,
    N: c.stateSize,
    DTB_OFF: pl.dtBias,
    DT_MIN: c.timeStepLimit[0],
    DT_MAX: Math.min(c.timeStepLimit[1], 3.4028234e38),
    DT_COL: c.intermediateSize + c.convDim,
    Z_COL: 0,
    A_OFF: pl.aLog,
    D_OFF: pl.d,
    SSM_OFF: sl.ssm,
    DTS_OFF: sl.dtSum,
    ROWS: rows,
  });
  const buffers = {
    xbc: a.xbc,
    proj: a.proj,
    params: ctx.weights.layerParams[l]!,
    state: ctx.weights.work[l]!,
    out: a.gated,
  };
  return k.dispatch(`layer${l}.scan.${k.kernel}`, buffers, () => [ceil(c.headDim, rows), c.numHeads, 1]);
}

/**
 * Decode on GPUs, 3 dispatches per layer. The residual stays in `resid`. in_proj normalises it on the fly and
 * runs the conv step of the x, B and C columns as its epilogue (gemv_fused's CONV over proj columns
 * [d_inner, d_inner + convDim), into `xbc`); the token step writes y · silu(z); out_proj's NORM prologue, with
 * the gated norm's weight, completes MambaRMSNormGated (all of d_inner at once, as transformers 5.17 does
 * whatever n_groups is) and its ACCUM epilogue adds into the residual.
 */
function fusedDecodeSteps(ctx: Mamba2PlanContext): Dispatch[] {
  const c = ctx.config;
  const a = ctx.act;
  const pl = ctx.weights.pl;
  const sl = mamba2StateLayout(c);
  const steps: Dispatch[] = embedSteps(ctx);
  for (let l = 0; l < c.numLayers; l++) {
    const params = ctx.weights.layerParams[l]!;
    const state = ctx.weights.work[l]!;
    const inBias = c.useBias ? pl.inProjBias : undefined;
    const normConv = {
      NORM: true,
      EPS: c.layerNormEpsilon,
      NW_OFF: pl.norm,
      CONV: true,
      CONV_COL: c.intermediateSize,
      DI: c.convDim,
      DC: c.convKernel,
      HAS_CONV_BIAS: c.useConvBias,
      CW_OFF: pl.convWeight,
      CB_OFF: pl.convBias,
      CONV_OFF: sl.conv,
    };
    const conv = { state, xc: a.xbc };
    steps.push(...fusedGemvSteps(ctx, `layer${l}.in_proj`, a.resid, a.proj, params, inBias, normConv, conv));
    steps.push(scanDecodeStep(ctx, l));
    const outBias = c.useBias ? pl.outProjBias : undefined;
    const gatedNorm = { NORM: true, EPS: c.layerNormEpsilon, NW_OFF: pl.gateNorm, ACCUM: true };
    steps.push(...fusedGemvSteps(ctx, `layer${l}.out_proj`, a.gated, a.resid, params, outBias, gatedNorm));
  }
  return steps;
}

export function buildMamba2Plan(ctx: Mamba2PlanContext): DispatchPlan {
  const c = ctx.config;
  const out = outputSteps(ctx, ctx.weights.normF);
  if (!fusedDecode(c, ctx.opts.variant, ctx.opts.dtype)) {
    return { ...out, body: layerSteps(ctx, 'gemm'), decodeBody: layerSteps(ctx, 'gemv') };
  }
  const headKey = c.tieWordEmbeddings ? 'embedding' : 'lm_head';
  return {
    ...out,
    body: layerSteps(ctx, 'gemm'),
    decodeBody: fusedDecodeSteps(ctx),
    // The last out_proj left the final residual in row 0: norm_f folds into the head GEMV.
    decodeHead: fusedGemvSteps(
      ctx,
      headKey,
      ctx.act.resid,
      ctx.act.lastLogits,
      ctx.weights.normF,
      undefined,
      {
        NORM: true,
        EPS: c.layerNormEpsilon,
      },
    ),
  };
}
