/**
 * The batched plan: several sequences in one chunk, each continuing from its own state slot, for
 * MambaEngine.continueMany. A chunk of T tokens is cut into segments (a query, a piece of one, or a single
 * decode token), each with the slot it reads and updates. Every per-token step (embedding, RMSNorm, the
 * GEMMs, the head) is already row-wise, so only the two steps that carry state change: the conv and the scan
 * run segmented on per-layer slot buffers (Mamba-1 here: conv1d_seg.wgsl, scan_seg.wgsl; Mamba-2 in
 * mamba2/batch.ts: m2_conv_seg.wgsl, m2_scan_seg.wgsl, around the parts `batchPlanOf` gives both). A decode
 * step of B sequences is then a chunk of B one-token segments: the decode GEMVs become GEMMs on B rows, which
 * is the speed-up. Greedy only: argmax_rows.wgsl picks each row's next token on the GPU and writes it as the
 * next input.
 */
import { reductionWidth } from '../decisions.ts';
import { layerStateLayout } from '../kernels/layout.ts';
import type { Dispatch } from '../kernels/pipelines.ts';
import { ceil, type PlanContext, type SharedPlanContext } from './context.ts';
import { gemmSteps } from './gemm.ts';
import { embedSteps, rmsnormStep } from './layer.ts';

export interface BatchPlan {
  /** How many sequences the slots hold. */
  readonly slots: number;
  /** Per layer: f32 [slots, stride], each slot laid out as the family's working state (stateGeometry().work). */
  readonly slotBuffers: readonly GPUBuffer[];
  /** Floats of one slot (one layer's working state). */
  readonly stride: number;
  /** u32 [2 + 2 * segments]: count, (start, slot) per segment, end; conv1d_seg.wgsl's `segs`. */
  readonly segs: GPUBuffer;
  /** f32 [slots, hidden]: each sequence's last normed row, gathered for the head. */
  readonly gathered: GPUBuffer;
  /** Every layer on a segmented chunk (T = its tokens). */
  readonly body: Dispatch[];
  /** argmax of each of T rows of `logits` into tokens[row] and `out`[row]. */
  readonly argmax: Dispatch[];
  /** u32 [slots]: the chosen ids (COPY_SRC). */
  readonly out: GPUBuffer;
}

/** Words of the segment table for `segments` segments. */
export const segWords = (segments: number) => 2 + 2 * segments;

/**
 * The parts every family's batched plan shares around its layers: per-layer slot buffers of `stride` floats
 * per slot, the segment table, the gathered rows, the ids and argmax_rows over the logits. `layers` builds
 * the body (embedding and every layer) on those slot buffers and that table.
 */
export function batchPlanOf(
  ctx: SharedPlanContext,
  slots: number,
  stride: number,
  layers: (slotBuffers: readonly GPUBuffer[], segs: GPUBuffer) => Dispatch[],
): BatchPlan {
  const c = ctx.config;
  const a = ctx.act;
  const S = GPUBufferUsage.STORAGE;
  const CS = GPUBufferUsage.COPY_SRC;
  const CD = GPUBufferUsage.COPY_DST;
  const slotBuffers = Array.from({ length: c.numLayers }, (_, l) =>
    ctx.buffer(`layer${l}.slots`, slots * stride * 4, S | CS | CD),
  );
  const segs = ctx.buffer('batch.segs', segWords(ctx.opts.chunkSize) * 4, S | CD);
  const gathered = ctx.buffer('batch.gathered', slots * c.hiddenSize * 4, CS | CD);
  const out = ctx.buffer('batch.out', slots * 4, S | CS);
  const argmax = ctx.pipes
    .kernel('argmax_rows', { V: c.vocabSize, WG: reductionWidth(ctx.opts.variant, 256) })
    .dispatch('argmax_rows', { dims: a.dims, logits: a.logits, tokens: a.tokens, out }, (t) => [t, 1, 1]);
  const body = layers(slotBuffers, segs);
  return { slots, slotBuffers, stride, segs, gathered, body, argmax: [argmax], out };
}

/** Builds Mamba-1's batched plan for `slots` sequences (slots <= the chunk size, so T = slots fits a chunk). */
export function buildBatchPlan(ctx: PlanContext, slots: number): BatchPlan {
  const c = ctx.config;
  const a = ctx.act;
  const pl = ctx.weights.pl;
  const sl = layerStateLayout(c);
  const { hiddenSize: dm, intermediateSize: di, stateSize: ds, timeStepRank: r } = c;
  const stride = sl.total;
  return batchPlanOf(ctx, slots, stride, (slotBuffers, segs) => {
    const steps: Dispatch[] = [...embedSteps(ctx)];
    for (let l = 0; l < c.numLayers; l++) {
      const params = ctx.weights.layerParams[l]!;
      const state = slotBuffers[l]!;
      steps.push(rmsnormStep(ctx, `layer${l}.norm`, l > 0, params, pl.norm));
      const inBias = c.useBias ? pl.inProjBias : undefined;
      steps.push(...gemmSteps(ctx, `layer${l}.in_proj`, a.normed, a.xz, 2 * di, params, inBias, 'gemm'));
      const conv = ctx.pipes.kernel('conv1d_seg', {
        DI: di,
        DC: c.convKernel,
        HAS_BIAS: c.useConvBias,
        CW_OFF: pl.convWeight,
        CB_OFF: pl.convBias,
        CONV_OFF: sl.conv,
        STRIDE: stride,
      });
      // One invocation per (channel, segment); segments <= tokens, so T rows along y cover them.
      const convBuffers = { segs, xz: a.xz, params, slots: state, xc: a.xc };
      steps.push(conv.dispatch(`layer${l}.conv_seg`, convBuffers, (t) => [ceil(di, 64), t, 1]));
      steps.push(...gemmSteps(ctx, `layer${l}.x_proj`, a.xc, a.dbc, r + 2 * ds, params, undefined, 'gemm'));
      const scan = ctx.pipes.kernel('scan_seg', {
        DI: di,
        DS: ds,
        R: r,
        DTW_OFF: pl.dtProj,
        DTB_OFF: pl.dtBias,
        A_OFF: pl.a,
        D_OFF: pl.d,
        STRIDE: stride,
      });
      const scanBuffers = {
        segs,
        dbc: a.dbc,
        xz: a.xz,
        xc: a.xc,
        params,
        slots: state,
        out: a.y,
      };
      steps.push(scan.dispatch(`layer${l}.scan_seg`, scanBuffers, (t) => [ceil(di, 64), t, 1]));
      const outBias = c.useBias ? pl.outProjBias : undefined;
      steps.push(...gemmSteps(ctx, `layer${l}.out_proj`, a.y, a.delta, dm, params, outBias, 'gemm'));
    }
    return steps;
  });
}
