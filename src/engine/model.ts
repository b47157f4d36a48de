/**
 * The WebGPU engine of both families: implements the MambaEngine contract of api.ts over hand-written WGSL
 * kernels (shaders/*.wgsl). What a family changes (weight placement, activations, the dispatch plan) is its
 * backend (backend.ts: Mamba-1 here in plan/, Mamba-2 in mamba2/); this file is the run loop they share. The
 * text below describes Mamba-1's plan; Mamba-2's is in mamba2/plan.ts.
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
 * the dispatches per kernel family and assembles them; stateIO.ts moves states. This file is the run loop.
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
import { abortError, CallQueue, checkTokens, stagingBuffer } from './calls.ts';
import { withGpuErrors, type EngineDevice } from './gpu/device.ts';
import type { RowPart } from './gpu/weightMatrix.ts';
import { encodeDispatches, PipelineCache, type Dispatch } from './kernels/pipelines.ts';
import {
  assertSupported,
  deviceTraits,
  resolveOptions,
  type EngineOptions,
  type KernelVariant,
  type ResolvedOptions,
} from './options.ts';
import type { DispatchPlan } from './plan/assemble.ts';
import { writeArray } from './placement.ts';
import { readReport, reportBytes, samplerParams, seedWord } from './sampling.ts';
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
   * Runs `ids` through the model on the working state, chunk by chunk. `perChunk` adds work at the end of
   * each chunk's command buffer (LM head, NLL, copies); `afterSubmit` runs after each chunk is submitted.
   */
  private async runChunks(
    ids: Uint32Array,
    opts: RunOptions | undefined,
    perChunk: (enc: GPUCommandEncoder, start: number, len: number, last: boolean) => void,
    afterSubmit?: (start: number, len: number) => Promise<void>,
  ): Promise<void> {
    const plan = this.plan;
    if (!plan) throw new Error('finalize() was not called.');
    const q = this.device.queue;
    const total = ids.length;
    for (let start = 0; start < total; start += this.chunkSize) {
      if (opts?.signal?.aborted) throw abortError();
      const len = Math.min(this.chunkSize, total - start);
      writeArray(q, this.act.tokens, 0, ids.subarray(start, start + len));
      q.writeBuffer(this.act.dims, 0, new Uint32Array([len, start, 0, 0]));
      const enc = this.device.createCommandEncoder({ label: `chunk@${start}` });
      const pass = enc.beginComputePass({ label: 'layers' });
      encodeDispatches(pass, plan.body, len);
      pass.end();
      const last = start + len >= total;
      perChunk(enc, start, len, last);
      q.submit([enc.finish()]);
      if (afterSubmit) await afterSubmit(start, len);
      else if (opts?.onProgress || opts?.signal) await q.onSubmittedWorkDone();
      opts?.onProgress?.({ done: start + len, total });
    }
  }

  /** norm_f on the chunk, then row `len − 1` of the normed hidden → lastNormed → LM head GEMV → lastLogits. */
  private encodeLastLogits(enc: GPUCommandEncoder, len: number): void {
    const plan = this.plan!;
    const dm = this.config.hiddenSize;
    let pass = enc.beginComputePass({ label: 'norm_f' });
    encodeDispatches(pass, plan.normF, len);
    pass.end();
    enc.copyBufferToBuffer(this.act.normed, (len - 1) * dm * 4, this.act.lastNormed, 0, dm * 4);
    pass = enc.beginComputePass({ label: 'lm_head (last)' });
    encodeDispatches(pass, plan.headLast, 1);
    pass.end();
  }

  private staging(bytes: number): GPUBuffer {
    return stagingBuffer(this.device, bytes);
  }

  prefill(
    state: GpuState,
    tokens: ArrayLike<number>,
    options?: RunOptions & { logits?: 'none' | 'last' | 'all' },
  ): Promise<Float32Array | undefined> {
    return this.exclusive(async () => {
      const ids = this.checkTokens(tokens);
      const mode = options?.logits ?? 'none';
      const V = this.config.vocabSize;
      if (ids.length === 0) return mode === 'none' ? undefined : new Float32Array(0);
      const q = this.device.queue;
      const enc0 = this.device.createCommandEncoder({ label: 'state→work' });
      this.encodeStateCopy(enc0, state, true);
      q.submit([enc0.finish()]);

      const all = mode === 'all' ? new Float32Array(ids.length * V) : undefined;
      const chunkRead = mode === 'all' ? this.staging(this.chunkSize * V * 4) : undefined;
      const lastRead = mode === 'last' ? this.staging(V * 4) : undefined;
      try {
        await this.runChunks(
          ids,
          options,
          (enc, _start, len, last) => {
            if (mode === 'all') {
              const pass = enc.beginComputePass({ label: 'norm_f + lm_head' });
              encodeDispatches(pass, this.plan!.normF, len);
              encodeDispatches(pass, this.plan!.headAll, len);
              pass.end();
              enc.copyBufferToBuffer(this.act.logits, 0, chunkRead!, 0, len * V * 4);
            } else if (mode === 'last' && last) {
              this.encodeLastLogits(enc, len);
              enc.copyBufferToBuffer(this.act.lastLogits, 0, lastRead!, 0, V * 4);
            }
            if (last) this.encodeStateCopy(enc, state, false);
          },
          mode === 'all'
            ? async (start, len) => {
                await chunkRead!.mapAsync(GPUMapMode.READ, 0, len * V * 4);
                all!.set(new Float32Array(chunkRead!.getMappedRange(0, len * V * 4)), start * V);
                chunkRead!.unmap();
              }
            : undefined,
        );
        if (lastRead) {
          await lastRead.mapAsync(GPUMapMode.READ);
          return new Float32Array(lastRead.getMappedRange(0, V * 4).slice(0));
        }
        if (mode === 'none') await q.onSubmittedWorkDone();
        return all;
      } finally {
        chunkRead?.destroy();
        lastRead?.destroy();
      }
    });
  }

  score(state: GpuState, tokens: ArrayLike<number>, options?: RunOptions): Promise<TokenScore> {
    return this.exclusive(async () => {
      const ids = this.checkTokens(tokens);
      const n = Math.max(0, ids.length - 1);
      if (n === 0) return { nll: new Float32Array(0), meanNll: NaN, perplexity: NaN };
      const q = this.device.queue;
      const enc0 = this.device.createCommandEncoder({ label: 'state→work' });
      this.encodeStateCopy(enc0, state, true);
      q.submit([enc0.finish()]);
      // The last token has no successor: score only needs tokens[0 .. L−2] through the model.
      const inputs = ids.subarray(0, n);
      const read = this.staging(n * 4);
      try {
        await this.runChunks(inputs, options, (enc, start, len) => {
          const targets = ids.slice(start + 1, start + 1 + len);
          q.writeBuffer(this.act.targets, 0, targets);
          const pass = enc.beginComputePass({ label: 'norm_f + lm_head + nll' });
          encodeDispatches(pass, this.plan!.normF, len);
          encodeDispatches(pass, this.plan!.headAll, len);
          encodeDispatches(pass, this.plan!.nll, len);
          pass.end();
          enc.copyBufferToBuffer(this.act.nll, 0, read, start * 4, len * 4);
        });
        await read.mapAsync(GPUMapMode.READ);
        const nll = new Float32Array(read.getMappedRange(0, n * 4).slice(0));
        let sum = 0;
        for (const v of nll) sum += v;
        const meanNll = sum / n;
        return { nll, meanNll, perplexity: Math.exp(meanNll) };
      } finally {
        read.destroy();
      }
    });
  }

  generate(state: GpuState, prompt: ArrayLike<number>, options: GenerateOptions): Promise<number[]> {
    return this.exclusive(async () => {
      const ids = this.checkTokens(prompt);
      if (ids.length === 0) {
        throw new RangeError('generate needs at least one prompt token (for example the BOS id).');
      }
      const plan = this.plan!;
      const q = this.device.queue;
      const { params, report } = samplerParams(options);
      q.writeBuffer(this.act.sampleParams, 0, params);
      q.writeBuffer(this.act.rng, 0, new Uint32Array([seedWord(options.seed)]));

      const enc0 = this.device.createCommandEncoder({ label: 'state→work' });
      this.encodeStateCopy(enc0, state, true);
      q.submit([enc0.finish()]);

      const outBytes = reportBytes(report);
      const reads = [this.staging(outBytes), this.staging(outBytes)];
      const emitted: number[] = [];
      const stops = new Set(options.stopTokens ?? []);
      const encodeSample = (enc: GPUCommandEncoder, read: GPUBuffer) => {
        const pass = enc.beginComputePass({ label: 'sample' });
        encodeDispatches(pass, plan.sample, 1);
        pass.end();
        enc.copyBufferToBuffer(this.act.sampleOut, 0, read, 0, outBytes);
      };
      const submitDecodeStep = (read: GPUBuffer) => {
        const enc = this.device.createCommandEncoder({ label: 'decode' });
        const pass = enc.beginComputePass({ label: 'decode layers' });
        encodeDispatches(pass, plan.decodeBody, 1);
        encodeDispatches(pass, plan.decodeHead, 1);
        pass.end();
        encodeSample(enc, read);
        q.submit([enc.finish()]);
      };
      try {
        if (options.maxNewTokens <= 0) return emitted;
        await this.runChunks(ids, options, (enc, _s, len, last) => {
          if (!last) return;
          this.encodeLastLogits(enc, len);
          encodeSample(enc, reads[0]!);
        });
        q.writeBuffer(this.act.dims, 0, new Uint32Array([1, 0, 0, 0]));
        // One step stays in flight: token i+1 is encoded and submitted before token i is read back (the
        // sampled id never leaves the GPU between steps); a surplus step after a stop is harmless, since
        // only the working state sees it.
        for (let i = 0; i < options.maxNewTokens; i++) {
          const read = reads[i % 2]!;
          if (i + 1 < options.maxNewTokens) submitDecodeStep(reads[(i + 1) % 2]!);
          await read.mapAsync(GPUMapMode.READ, 0, outBytes);
          const words = new Uint32Array(read.getMappedRange(0, outBytes).slice(0));
          read.unmap();
          const { id, info } = readReport(words, report);
          emitted.push(id);
          if (info) options.onToken?.(id, i, info);
          else options.onToken?.(id, i);
          if (stops.has(id)) break;
          if (options.signal?.aborted) throw abortError();
        }
        await q.onSubmittedWorkDone();
        return emitted;
      } finally {
        for (const r of reads) r.destroy();
      }
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
      const plan = this.plan!;
      const q = this.device.queue;
      const V = this.config.vocabSize;
      const read = this.staging(V * 4);
      try {
        writeArray(q, this.act.tokens, 0, ids);
        q.writeBuffer(this.act.dims, 0, new Uint32Array([1, 0, 0, 0]));
        const enc = this.device.createCommandEncoder({ label: 'decodeStep' });
        this.encodeStateCopy(enc, state, true);
        const pass = enc.beginComputePass({ label: 'decode layers' });
        encodeDispatches(pass, plan.decodeBody, 1);
        encodeDispatches(pass, plan.decodeHead, 1);
        pass.end();
        this.encodeStateCopy(enc, state, false);
        enc.copyBufferToBuffer(this.act.lastLogits, 0, read, 0, V * 4);
        q.submit([enc.finish()]);
        await read.mapAsync(GPUMapMode.READ);
        return new Float32Array(read.getMappedRange(0, V * 4).slice(0));
      } finally {
        read.destroy();
      }
    });
  }

  /** Sequences continueMany runs in one pass (batchSlots in decisions.ts). */
  get batchCapacity(): number {
    return batchSlots(this.geometry.layers * this.geometry.work.total * 4, this.chunkSize);
  }

  /**
   * Batched where the family has a batched plan (Mamba-1), else one generate() per query (batchRun.ts).
   * `onLogits` (this class only, for tests): each batched step's logits, read back too.
   */
  continueMany(
    state: GpuState | readonly GpuState[],
    queries: readonly ArrayLike<number>[],
    options: ContinueManyOptions & { onLogits?: BatchRunOptions['onLogits'] },
  ): Promise<number[][]> {
    return continueInGroups(state, queries, options, {
      check: (q) => this.checkTokens(q),
      capacity: this.backend.buildBatchPlan ? this.batchCapacity : 0,
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
      this.backend.buildBatchPlan!(this.batchCapacity),
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
