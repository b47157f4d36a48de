/**
 * The WebGPU engine of both families: implements the MambaEngine contract of api.ts over hand-written WGSL
 * kernels (shaders/*.wgsl). What a family changes (weight placement, activations, the dispatch plan) is its
 * backend (backend.ts: Mamba-1 here in plan/, Mamba-2 in mamba2/); this file and its run loops (sequenceRun.ts,
 * batchRun.ts) are what they share. The text below describes Mamba-1's plan; Mamba-2's is in mamba2/plan.ts.
 *
 * Shape of the computation. Every call copies the caller's GpuState into the engine's per-layer working
 * state, runs there, and copies back only when the call is meant to change the state (prefill) and was not
 * cancelled; so score/generate leave the state untouched and an aborted prefill leaves it as it was. The
 * working state and all activation buffers are fixed, so pipelines and bind groups are made once, in
 * finalize().
 *
 * Prefill runs the prompt in chunks of `chunkSize` tokens through all layers (tiled GEMMs, the conv and the
 * chunked selective scan, each continuing from the state the previous chunk left), one command buffer per
 * chunk; progress and cancellation happen between chunks (on GPUs dt_proj runs for the whole chunk in
 * parallel before the sequential scan). Decode runs one token per command buffer: in the software variant
 * six dispatches per layer (norm+residual, in_proj, conv, x_proj, dt_proj+scan+gate, out_proj), then norm_f
 * and the LM head; in the hardware variant three (norm+in_proj+conv step, x_proj+dt_proj+scan+gate,
 * out_proj+residual; shaders/gemv_fused.wgsl, ssm_decode.wgsl) or, where x_proj is too big to recompute per
 * workgroup, four (x_proj on its own; decodeMiddle in decisions.ts), then norm_f+LM head in one; then the GPU
 * sampler, which writes the next input id in place; only the id (4 bytes, or the small top-N report) is read
 * back. One submit per token.
 *
 * Calls are serialised: the working buffers are shared, so a score() issued during generate() waits.
 *
 * The parts: options.ts settles the defaults; decisions.ts makes every kernel choice as a pure function (and
 * describes the 'software' and 'hardware' variants); placement.ts puts the weights on the GPU (and in which
 * precision); activations.ts sizes and allocates the activations; plan/ builds
 * the dispatches per kernel family and assembles them; stateIO.ts moves states. This file holds the engine's
 * buffers and serialises its calls; sequenceRun.ts runs prefill, score, generate and decodeStep, batchRun.ts
 * continueMany's batches.
 */
import { ModelFormatError } from '../model/errors.ts';
import { tensorShapesOf, type AnyMambaConfig } from '../model/family.ts';
import type { SharedActivations } from './activations.ts';
import { createBackend, type EngineBackend } from './backend.ts';
import type {
  ContinueManyOptions,
  GenerateOptions,
  GpuState,
  MambaEngine,
  RunOptions,
  TokenScore,
  WeightDtype,
} from './api.ts';
import { continueInGroups, runBatch, type BatchRunOptions } from './batchRun.ts';
import { batchSlots } from './decisions.ts';
import type { BatchPlan } from './plan/batch.ts';
import { CallQueue, checkTokens } from './calls.ts';
import { withGpuErrors, type EngineDevice } from './gpu/device.ts';
import type { RowPart } from './gpu/weightMatrix.ts';
import { PipelineCache, type Dispatch } from './kernels/pipelines.ts';
import {
  assertSupported,
  deviceTraits,
  resolveOptions,
  type EngineOptions,
  type KernelVariant,
  type ResolvedOptions,
} from './options.ts';
import type { DispatchPlan } from './plan/assemble.ts';
import * as sequenceRun from './sequenceRun.ts';
import * as stateIO from './stateIO.ts';
import { namedTensors, type MambaState, type MambaWeights } from './weights.ts';

export type { EngineOptions, KernelVariant } from './options.ts';
export { splitCount } from './decisions.ts';

export class GpuMambaModel implements MambaEngine {
  readonly device: GPUDevice;
  readonly chunkSize: number;
  readonly variant: KernelVariant;
  /** The kernel the prefill GEMMs run on (a gemm_sgmm variant on subgroup matrices, gemm_tiled, gemm_reg). */
  readonly prefillGemmKernel: string;
  readonly useSubgroups: boolean;
  /** f16 weights are read by the native-f16 kernels (device has shader-f16); false for f32 and packed f16. */
  readonly nativeF16: boolean;
  private readonly opts: ResolvedOptions;

  private readonly owned: GPUBuffer[] = [];
  private readonly pipes: PipelineCache;
  private readonly expected: Map<string, number[]>;
  private readonly received = new Set<string>();
  private backend!: EngineBackend;
  private act!: SharedActivations;
  private readonly geometry: stateIO.StateGeometry;
  private plan?: DispatchPlan;
  /** continueMany's slots and plan, made on its first call (most sessions never batch). */
  private batch?: BatchPlan;
  private readonly calls: CallQueue;
  private destroyed = false;

  private constructor(
    readonly dev: EngineDevice,
    readonly config: AnyMambaConfig,
    readonly dtype: WeightDtype,
    opts: EngineOptions,
  ) {
    this.device = dev.device;
    this.pipes = PipelineCache.forDevice(this.device);
    this.opts = resolveOptions(opts, deviceTraits(dev), config);
    this.variant = this.opts.variant;
    this.prefillGemmKernel = this.opts.prefillGemmKernel;
    this.useSubgroups = this.opts.useSubgroups;
    this.nativeF16 = this.opts.nativeF16;
    this.chunkSize = this.opts.chunkSize;
    this.expected = tensorShapesOf(config);
    this.geometry = stateIO.stateGeometry(config);
    this.calls = new CallQueue(dev.lost, () => this.destroyed);
  }

  /** Allocates parameter, state and activation buffers; then uploadTensor() each weight and finalize(). */
  static async create(
    dev: EngineDevice,
    config: AnyMambaConfig,
    opts: EngineOptions,
  ): Promise<GpuMambaModel> {
    assertSupported(config);
    const m = new GpuMambaModel(dev, config, opts.dtype, opts);
    await m.guardAlloc('allocating the model buffers', () => m.allocate());
    return m;
  }

  /** Uploads every tensor of `weights` and finalizes. */
  static async fromWeights(dev: EngineDevice, w: MambaWeights, opts: EngineOptions): Promise<GpuMambaModel> {
    return GpuMambaModel.fromTensors(dev, w.config, namedTensors(w), opts);
  }

  /** Uploads `tensors` (Hugging Face name, values) of a model of `config`, of either family, and finalizes. */
  static async fromTensors(
    dev: EngineDevice,
    config: AnyMambaConfig,
    tensors: Iterable<[string, Float32Array]>,
    opts: EngineOptions,
  ): Promise<GpuMambaModel> {
    const m = await GpuMambaModel.create(dev, config, opts);
    for (const [name, data] of tensors) await m.uploadTensor(name, data);
    await m.finalize();
    return m;
  }

  // ---------------------------------------------------------------- allocation and upload

  private buffer(label: string, bytes: number, usage: number): GPUBuffer {
    // Multiples of 16 bytes: some kernels view activations as array<vec4f>.
    const b = this.device.createBuffer({ label, size: Math.max(16, Math.ceil(bytes / 16) * 16), usage });
    this.owned.push(b);
    return b;
  }

  private async guardAlloc<T>(what: string, fn: () => T): Promise<T> {
    try {
      return await withGpuErrors(this.device, what, fn);
    } catch (e) {
      this.destroy();
      throw e;
    }
  }

  private allocate(): void {
    const alloc = (label: string, bytes: number, usage: number) => this.buffer(label, bytes, usage);
    const track = (b: GPUBuffer) => this.owned.push(b);
    const parts = { device: this.device, pipes: this.pipes, opts: this.opts, alloc, track };
    this.backend = createBackend(parts, this.config);
    this.act = this.backend.act;
  }

  /**
   * Uploads one tensor by its Hugging Face name (so a loader can stream a checkpoint). Tensors the config
   * does not use (e.g. the LM head of a tied model) are ignored. A wrong size is a ModelFormatError; out
   * of GPU memory frees everything and throws GpuOutOfMemoryError.
   */
  async uploadTensor(name: string, data: Float32Array): Promise<void> {
    if (this.plan) throw new Error('uploadTensor after finalize()');
    const shape = this.expected.get(name);
    if (!shape) return;
    const n = shape.reduce((a, b) => a * b, 1);
    if (data.length !== n) {
      throw new ModelFormatError(
        `Tensor "${name}" has ${data.length} values but config.json implies [${shape.join(', ')}] (${n}).`,
      );
    }
    await this.guardAlloc(`uploading ${name}`, () => this.backend.place(name, data, shape));
    this.received.add(name);
  }

  /**
   * For generated weights (benchmarks' random models, src/engine/randomWeights.ts): creates the row parts of
   * a big matrix (embedding, lm_head, in/x/out_proj) by the same planning as uploadTensor and lets `fill`
   * write each part on the GPU, in this engine's dtype and packing. Other tensors: use uploadTensor.
   */
  async uploadTensorGenerated(
    name: string,
    fill: (part: RowPart, cols: number, dtype: WeightDtype, group: number) => void,
  ): Promise<void> {
    if (this.plan) throw new Error('uploadTensorGenerated after finalize()');
    const shape = this.expected.get(name);
    if (!shape) return;
    if (!this.backend.matrixKey(name)) {
      throw new RangeError(`"${name}" is not a weight matrix; use uploadTensor for it.`);
    }
    const [rows, cols] = shape as [number, number];
    await this.guardAlloc(`generating ${name}`, () => this.backend.generate(name, rows, cols, fill));
    this.received.add(name);
  }

  /**
   * The prebuilt dispatches by phase (after finalize()), for benchmarks: counting dispatches per token and
   * timing each with timestamp queries. Read-only: encoding them outside a call is the caller's risk.
   */
  get dispatchPlan(): Readonly<Record<string, readonly Dispatch[]>> | undefined {
    return this.plan;
  }

  /** Checks that every required tensor arrived, then builds all pipelines and bind groups once. */
  async finalize(): Promise<void> {
    const missing = [...this.expected.keys()].filter((n) => !this.received.has(n));
    if (missing.length > 0) {
      this.destroy();
      throw new ModelFormatError(
        `The checkpoint is missing ${missing.length} tensor(s) that config.json requires, e.g. "${missing[0]}".`,
      );
    }
    await this.guardAlloc('building the GPU pipelines', () => {
      this.plan = this.backend.buildPlan();
    });
  }

  // ---------------------------------------------------------------- states (stateIO.ts)

  createState(): GpuState {
    return stateIO.createState(this.device, this.geometry);
  }

  resetState(state: GpuState): void {
    stateIO.resetState(this.device, state);
  }

  copyState(dst: GpuState, src: GpuState): void {
    stateIO.copyState(this.device, dst, src);
  }

  async readState(state: GpuState): Promise<MambaState> {
    return this.exclusive(() => stateIO.readState(this.device, this.geometry, state));
  }

  writeState(state: GpuState, host: MambaState): void {
    stateIO.writeState(this.device.queue, this.geometry, state, host);
  }

  private encodeStateCopy(enc: GPUCommandEncoder, state: GpuState, toWork: boolean): void {
    stateIO.encodeStateCopy(enc, this.geometry, this.backend.work, state, toWork);
  }

  // ---------------------------------------------------------------- running

  /** Calls are serialised: the working buffers are shared. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.calls.run(fn);
  }

  private checkTokens(tokens: ArrayLike<number>): Uint32Array {
    return checkTokens(tokens, this.config.vocabSize);
  }

  /**
   * What the one-sequence calls of sequenceRun.ts run with. `plan` is read at each use, as when the calls
   * were methods here (destroy() clears it).
   */
  private sequenceParts(): sequenceRun.SequenceRunParts {
    const plan = () => this.plan;
    return {
      device: this.device,
      get plan() {
        return plan();
      },
      act: this.act,
      chunkSize: this.chunkSize,
      hiddenSize: this.config.hiddenSize,
      vocabSize: this.config.vocabSize,
      stateCopy: (enc, state, toWork) => this.encodeStateCopy(enc, state, toWork),
    };
  }

  prefill(
    state: GpuState,
    tokens: ArrayLike<number>,
    options?: RunOptions & { logits?: 'none' | 'last' | 'all' },
  ): Promise<Float32Array | undefined> {
    return this.exclusive(async () => {
      const ids = this.checkTokens(tokens);
      return sequenceRun.prefill(this.sequenceParts(), state, ids, options);
    });
  }

  score(state: GpuState, tokens: ArrayLike<number>, options?: RunOptions): Promise<TokenScore> {
    return this.exclusive(async () => {
      const ids = this.checkTokens(tokens);
      return sequenceRun.score(this.sequenceParts(), state, ids, options);
    });
  }

  generate(state: GpuState, prompt: ArrayLike<number>, options: GenerateOptions): Promise<number[]> {
    return this.exclusive(async () => {
      const ids = this.checkTokens(prompt);
      return sequenceRun.generate(this.sequenceParts(), state, ids, options);
    });
  }

  /**
   * Reads one token through the decode path (GEMVs, one command buffer) from `state`, updating it in place,
   * and returns the next-token logits [vocab]. For tools (the CLI, tests) that need full logits per step;
   * generate() itself never reads logits back.
   */
  decodeStep(state: GpuState, token: number): Promise<Float32Array> {
    return this.exclusive(async () => {
      const ids = this.checkTokens([token]);
      return sequenceRun.decodeStep(this.sequenceParts(), state, ids);
    });
  }

  /**
   * Sequences continueMany runs in one pass (batchSlots in decisions.ts: the slots' memory budget
   * (EngineOptions.batchMemory), the
   * device's binding limit, the chunk size); 0 where fewer than two states fit, and it runs one by one.
   */
  get batchCapacity(): number {
    const limits = this.device.limits;
    const binding = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
    const g = this.geometry;
    return batchSlots(g.work.total * 4, g.layers, this.chunkSize, binding, this.opts.batchMemory);
  }

  /**
   * Batched (both families have a batched plan: plan/batch.ts, mamba2/batch.ts) up to batchCapacity queries
   * per pass; one generate() per query where the capacity is 0, or where no batchSize is given and batching
   * is turned off (EngineOptions.batched) (batchRun.ts).
   * `onLogits` (this class only, for tests): each batched step's logits, read back too.
   */
  continueMany(
    state: GpuState | readonly GpuState[],
    queries: readonly ArrayLike<number>[],
    options: ContinueManyOptions & { onLogits?: BatchRunOptions['onLogits'] },
  ): Promise<number[][]> {
    return continueInGroups(state, queries, options, {
      check: (q) => this.checkTokens(q),
      capacity: this.opts.batched || options.batchSize !== undefined ? this.batchCapacity : 0,
      generate: (s, p, o) => this.generate(s, p, o),
      runGroup: (states, group, o) => this.exclusive(() => this.runBatchGroup(states, group, o)),
    });
  }

  private async runBatchGroup(
    states: GpuState | readonly GpuState[],
    group: Uint32Array[],
    opts: BatchRunOptions,
  ): Promise<number[][]> {
    const plan = this.plan;
    if (!plan) throw new Error('finalize() was not called.');
    this.batch ??= await withGpuErrors(this.device, 'allocating the batch state slots', () =>
      this.backend.buildBatchPlan(this.batchCapacity),
    );
    const act = this.act;
    const parts = {
      device: this.device,
      plan,
      batch: this.batch,
      work: this.backend.work,
      toWork: (enc: GPUCommandEncoder, s: GpuState) => this.encodeStateCopy(enc, s, true),
      act: { tokens: act.tokens, dims: act.dims, normed: act.normed, logits: act.logits },
      vocabSize: this.config.vocabSize,
      hiddenSize: this.config.hiddenSize,
      chunkSize: this.chunkSize,
    };
    return runBatch(parts, states, group, opts);
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const b of this.owned) b.destroy();
    this.owned.length = 0;
    this.plan = undefined;
  }
}

/** Opens the engine for `weights` on `dev`. */
export function createEngine(dev: EngineDevice, weights: MambaWeights, opts: EngineOptions) {
  return GpuMambaModel.fromWeights(dev, weights, opts);
}
