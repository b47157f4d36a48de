/**
 * What differs between the families inside the engine, behind one interface: where each weight goes on the
 * GPU, the activation buffers and the dispatch plans (single-sequence and batched). The run loop (model.ts: chunked prefill, scoring,
 * decode, sampling, state copies) is the same for both and only encodes the plan's phases over the shared
 * activations; `createBackend` picks the family's backend by the config.
 */
import { isMamba2Config, type AnyMambaConfig } from '../model/family.ts';
import { allocateActivations, type Activations, type SharedActivations } from './activations.ts';
import type { WeightDtype } from './api.ts';
import type { RowPart } from './gpu/weightMatrix.ts';
import type { PipelineCache } from './kernels/pipelines.ts';
import { Mamba2Backend } from './mamba2/backend.ts';
import type { ResolvedOptions } from './options.ts';
import { allocateSplitK, buildPlan, type DispatchPlan } from './plan/assemble.ts';
import { buildBatchPlan, type BatchPlan } from './plan/batch.ts';
import type { PlanContext } from './plan/context.ts';
import { GpuWeights } from './placement.ts';
import { WeightsBackend } from './weightsBackend.ts';
import type { MambaConfig } from '../model/config.ts';

/** What a backend gets from the engine: the device, its pipelines, the options and its allocator. */
export interface EngineParts {
  device: GPUDevice;
  pipes: PipelineCache;
  opts: ResolvedOptions;
  /** Allocates a buffer the engine owns (padded to 16 bytes, destroyed with the engine). */
  alloc: (label: string, bytes: number, usage: number) => GPUBuffer;
  /** Hands the engine a buffer made elsewhere, to destroy with it. */
  track: (b: GPUBuffer) => void;
}

export interface EngineBackend {
  readonly act: SharedActivations;
  /** Each layer's working state, laid out as stateIO.stateGeometry(config).work says. */
  readonly work: readonly GPUBuffer[];
  /** The engine key of a big matrix by its Hugging Face name, or undefined for every other tensor. */
  matrixKey(name: string): string | undefined;
  /** Writes tensor `name` (already checked against `shape`) where the kernels read it. */
  place(name: string, data: Float32Array, shape: number[]): void;
  /** Creates big matrix `name`'s row parts and lets `fill` write each on the GPU (random weights). */
  generate(
    name: string,
    rows: number,
    cols: number,
    fill: (part: RowPart, cols: number, dtype: WeightDtype, group: number) => void,
  ): void;
  /** Every phase as prebuilt dispatches, once all weights are placed. */
  buildPlan(): DispatchPlan;
  /**
   * The batched plan for `slots` sequences (continueMany), after buildPlan(): plan/batch.ts for Mamba-1,
   * mamba2/batch.ts for Mamba-2, both run by batchRun.ts.
   */
  buildBatchPlan(slots: number): BatchPlan;
}

class Mamba1Backend extends WeightsBackend<GpuWeights> {
  readonly act: Activations;
  private readonly unusedRw: [GPUBuffer, GPUBuffer];
  private planCtx?: PlanContext;

  constructor(
    private readonly parts: EngineParts,
    private readonly config: MambaConfig,
  ) {
    const { device, opts, alloc, track } = parts;
    super(
      new GpuWeights(device, config, opts.dtype, opts.maxBinding, alloc, track, opts.int8),
      GpuWeights.matrixKey,
    );
    const S = GPUBufferUsage.STORAGE;
    this.unusedRw = [alloc('unused.state', 16, S), alloc('unused.xc', 16, S)];
    this.act = allocateActivations(alloc, config, opts.chunkSize);
  }

  buildPlan(): DispatchPlan {
    const { device, pipes, opts, alloc } = this.parts;
    const ctx: Omit<PlanContext, 'splitK'> = {
      device,
      pipes,
      config: this.config,
      opts,
      weights: this.weights,
      act: this.act,
      unusedRw: this.unusedRw,
      buffer: alloc,
    };
    this.planCtx = { ...ctx, splitK: allocateSplitK(ctx) };
    return buildPlan(this.planCtx);
  }

  buildBatchPlan(slots: number): BatchPlan {
    if (!this.planCtx) throw new Error('buildBatchPlan before buildPlan.');
    return buildBatchPlan(this.planCtx, slots);
  }
}

export function createBackend(parts: EngineParts, config: AnyMambaConfig): EngineBackend {
  if (!isMamba2Config(config)) return new Mamba1Backend(parts, config);
  // The int8 kernels and placement are Mamba-1's so far; a Mamba-2 asked for int8 says so before loading.
  if (parts.opts.dtype === 'int8') {
    throw new RangeError(
      'int8 weights are not available for Mamba-2 models yet: load this one in f16 or f32.',
    );
  }
  return new Mamba2Backend(parts, config);
}
