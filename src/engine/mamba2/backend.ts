/** The Mamba-2 side of the engine (backend.ts): its weights on the GPU, activations and dispatch plans. */
import type { Mamba2Config } from '../../model/mamba2Config.ts';
import { allocateActivations, type Mamba2Activations } from '../activations.ts';
import type { EngineParts } from '../backend.ts';
import { allocateSplitK, type DispatchPlan } from '../plan/assemble.ts';
import type { BatchPlan } from '../plan/batch.ts';
import { WeightsBackend } from '../weightsBackend.ts';
import { buildMamba2BatchPlan } from './batch.ts';
import { buildMamba2Plan, mamba2PrefillSplits, type Mamba2PlanContext } from './plan.ts';
import { GpuMamba2Weights } from './placement.ts';

export class Mamba2Backend extends WeightsBackend<GpuMamba2Weights> {
  readonly act: Mamba2Activations;
  /** Bound to the fused GEMV's conv outputs, which Mamba-2's decode does not use. */
  private readonly unusedRw: [GPUBuffer, GPUBuffer];
  /** buildPlan's context, kept for buildBatchPlan (the same activations, weights and split-K buffer). */
  private planCtx?: Mamba2PlanContext;

  constructor(
    private readonly parts: EngineParts,
    private readonly config: Mamba2Config,
  ) {
    const { device, opts, alloc, track } = parts;
    super(
      new GpuMamba2Weights(device, config, opts.dtype, opts.maxBinding, alloc, track),
      GpuMamba2Weights.matrixKey,
    );
    this.act = allocateActivations(alloc, config, opts.chunkSize, opts.m2Ssd);
    const S = GPUBufferUsage.STORAGE;
    this.unusedRw = [alloc('unused.state', 16, S), alloc('unused.xc', 16, S)];
  }

  buildPlan(): DispatchPlan {
    const { device, pipes, opts, alloc } = this.parts;
    const ctx: Omit<Mamba2PlanContext, 'splitK'> = {
      device,
      pipes,
      config: this.config,
      opts,
      weights: this.weights,
      act: this.act,
      unusedRw: this.unusedRw,
      buffer: alloc,
      prefillSplits: mamba2PrefillSplits(this.config, opts.m2InProjSplit, opts.m2InProjSplitAt),
    };
    this.planCtx = { ...ctx, splitK: allocateSplitK(ctx) };
    return buildMamba2Plan(this.planCtx);
  }

  buildBatchPlan(slots: number): BatchPlan {
    if (!this.planCtx) throw new Error('buildBatchPlan before buildPlan.');
    return buildMamba2BatchPlan(this.planCtx, slots);
  }
}
