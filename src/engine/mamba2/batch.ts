/**
 * Mamba-2's batched plan for MambaEngine.continueMany: the BatchPlan of plan/batch.ts, so batchRun.ts's
 * runBatch runs it as it runs Mamba-1's. Per segmented chunk: embed → per layer [RMSNorm → in_proj GEMM →
 * m2_conv_seg → m2_scan_seg → the gated norm → out_proj GEMM]; runBatch adds norm_f, the head and argmax_rows.
 * The layers are mamba2/plan.ts's (layerSteps, its conv constants, scan layout and gated norm), with the two
 * steps that carry state swapped for their segmented forms, each segment reading and updating its sequence's
 * slot. Prefill thus scans token by token within each query instead of the chunked SSD generate() uses: one
 * invocation per state row and query walks the query's tokens, H·P × queries of them (1,536 × 13 at 130m
 * size with its 13 slots: fewer than a large GPU runs at once, so a segmented chunked scan is the step to take
 * if batched prefill turns out to dominate there). Decode of B sequences is one chunk of B one-token segments,
 * so in_proj and out_proj read their weights once for all B.
 * On the hardware variant the scan is m2_scan_seg_wg (mamba2/decisions.ts m2ScanSegKernel): a workgroup per state
 * row and query, the row in registers and B and C read contiguously, since m2_scan_seg's uncoalesced state in
 * memory made this plan slower than the queries one by one on the H200 (untimed there so far).
 */
import type { Dispatch } from '../kernels/pipelines.ts';
import { batchPlanOf, type BatchPlan } from '../plan/batch.ts';
import { ceil } from '../plan/context.ts';
import { mamba2StateLayout } from '../stateIO.ts';
import { m2ScanSegKernel } from './decisions.ts';
import {
  convConstants,
  gatedNormStep,
  layerSteps,
  scanLayout,
  scanShape,
  type Mamba2PlanContext,
} from './plan.ts';

/**
 * Layer `l` between its projections on a segmented chunk, with layer l's slot buffer `slots` of `slotCount`
 * sequences.
 */
function segmentedMixer(
  ctx: Mamba2PlanContext,
  l: number,
  slots: GPUBuffer,
  slotCount: number,
  segs: GPUBuffer,
): Dispatch[] {
  const c = ctx.config;
  const a = ctx.act;
  const params = ctx.weights.layerParams[l]!;
  const STRIDE = mamba2StateLayout(c).total;
  const shape = scanShape(c);
  const conv = ctx.pipes.kernel('m2_conv_seg', { ...convConstants(ctx), STRIDE });
  const scanKernel = m2ScanSegKernel(ctx.opts.variant, ctx.opts.useSubgroups, shape.N);
  const scan = ctx.pipes.kernel(scanKernel, { ...scanLayout(ctx), ...shape, STRIDE });
  const convBuffers = { segs, proj: a.proj, params, slots, xbc: a.xbc };
  const scanBuffers = { segs, xbc: a.xbc, proj: a.proj, params, slots, y: a.y };
  // One invocation (conv, m2_scan_seg) or workgroup (m2_scan_seg_wg: row p of head h) per (channel or state row,
  // segment); segments <= tokens, so T along y covers them. m2_scan_seg_wg has H·P workgroups per layer along z,
  // so it stops at the slot count too (no two segments share a slot): a 512-token chunk would otherwise launch
  // hundreds of thousands of workgroups that return at once.
  const scanGrid = (t: number): [number, number, number] =>
    scanKernel === 'm2_scan_seg'
      ? [ceil(shape.H * shape.P, 64), t, 1]
      : [shape.P, shape.H, Math.min(t, slotCount)];
  return [
    conv.dispatch(`layer${l}.conv_seg`, convBuffers, (t) => [ceil(c.convDim, 64), t, 1]),
    scan.dispatch(`layer${l}.scan.${scanKernel}`, scanBuffers, scanGrid),
    gatedNormStep(ctx, l),
  ];
}

/** Builds Mamba-2's batched plan for `slots` sequences (slots <= the chunk size, so T = slots fits a chunk). */
export function buildMamba2BatchPlan(ctx: Mamba2PlanContext, slots: number): BatchPlan {
  const stride = mamba2StateLayout(ctx.config).total;
  return batchPlanOf(ctx, slots, stride, (slotBuffers, segs) =>
    layerSteps(ctx, 'gemm', (l) => segmentedMixer(ctx, l, slotBuffers[l]!, slots, segs)),
  );
}
