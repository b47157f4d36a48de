/**
 * The WebGPU Mamba-1 engine: implements the MambaEngine contract of api.ts over hand-written WGSL kernels
 * (shaders/*.wgsl).
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
 * and the LM head; in the hardware variant four (norm+in_proj+conv step, x_proj, dt_proj+scan+gate,
 * out_proj+residual; shaders/gemv_fused.wgsl), then norm_f+LM head in one; then the GPU sampler, which writes
 * the next input id in place; only the id (4 bytes, or the small top-N report) is read back.
 *
 * Calls are serialised: the working buffers are shared, so a score() issued during generate() waits.
 *
 * Precision: with dtype 'f16' the large matrices (embedding / LM head, in_proj, x_proj, out_proj) are packed
 * two per u32; the small per-channel tensors (norms, conv, dt_proj, A, D, biases) stay f32, as do
 * activations, the residual stream and states.
 *
 * Kernel variants: 'software' (SwiftShader) uses one invocation per output row / channel and 4-wide
 * reductions, because workgroup barriers dominate there; 'hardware' uses register-tiled GEMMs through workgroup
 * memory (64 x 64 tiles, with split-K where they leave too few workgroups), one workgroup per GEMV row (reduced with subgroupAdd where the device has subgroups), a scan with
 * one invocation per (channel, state element), and wide
 * reductions. Both are tested on SwiftShader (tests/kernels*.test.ts, tests/engine*.test.ts).
 */
import type { MambaConfig } from '../model/config.ts';
import { expectedTensorShapes } from '../model/config.ts';
import { ModelFormatError } from '../model/errors.ts';
import type {
  GenerateOptions,
  GpuState,
  MambaEngine,
  RunOptions,
  TokenScore,
  TokenReport,
  WeightDtype,
} from './api.ts';
import { GpuDeviceLostError, withGpuErrors, type EngineDevice } from './gpu/device.ts';
import { planRowParts, uploadMatrix, type RowPart, type WeightMatrix } from './gpu/weightMatrix.ts';
import { layerParamLayout, layerStateLayout, type LayerParamLayout } from './kernels/layout.ts';
import { encodeDispatches, PipelineCache, type Constants, type Dispatch } from './kernels/pipelines.ts';
import type { MambaState, MambaWeights } from './weights.ts';

export type KernelVariant = 'software' | 'hardware';

export interface EngineOptions {
  dtype: WeightDtype;
  /** Tokens per prefill chunk (one scan dispatch per layer per chunk). Default 512 (hardware), 128 (software). */
  chunkSize?: number;
  /**
   * 'software': one invocation per output row / channel, no workgroup barriers (SwiftShader);
   * 'hardware': cooperative reductions through workgroup memory. Default: by `EngineDevice.isSoftware`.
   */
  variant?: KernelVariant;
  /** Hardware variant only: reduce GEMV rows with subgroupAdd. Default: where the device has subgroups. */
  subgroups?: boolean;
  /** Largest binding for one part of a weight matrix; default the device limit. Tests shrink it. */
  maxBindingBytes?: number;
  /**
   * Rows per workgroup of the fused decode GEMV (1 to 4). Default: 4 for row parts of at least 4,096 rows (2.8b
   * in_proj, LM heads), where it saves re-reading the input per row and workgroups stay plentiful, else 1.
   * Tests force it to cover the multi-row path on small models.
   */
  decodeRows?: number;
  /**
   * Hardware variant, prefill GEMMs (shaders/gemm_tiled.wgsl), chosen per matrix and chunk length: 128 x 128
   * tiles where they give at least `bigMinTiles` workgroups, else 64 x 64 tiles with split-K up to
   * `splitTarget` workgroups. Defaults from the H200 (bench/RESULTS.md, fourth pass): split-K to 264
   * workgroups, and no 128 x 128 tiles (Infinity): there they ran 14x slower than 64 x 64 (2.8b in_proj,
   * 512 tokens: 820 vs 58 ms). Benchmarks sweep both (`soup bench --big-tiles --split-target`).
   */
  prefillGemm?: { bigMinTiles?: number; splitTarget?: number };
}

/** Workgroups along z of gemm_tiled.wgsl for `t` tokens; the same formula as splitCount() in the shader. */
export function splitCount(
  t: number,
  rows: number,
  tm: number,
  tn: number,
  target: number,
  maxSplit: number,
) {
  if (maxSplit <= 1) return 1;
  const tiles = ceil(t, 16 * tm) * ceil(rows, 16 * tn);
  return Math.min(maxSplit, Math.max(1, ceil(target, tiles)));
}

const SAMPLE_OUT_WORDS = 3 + 2 * 16;

const ceil = (a: number, b: number) => Math.ceil(a / b);

/** gemm_tiled.wgsl's split-K bound for `k` inputs: each split keeps at least 4 steps of 16 k; at most 16 splits. */
function maxSplitFor(k: number): number {
  return Math.max(1, Math.min(16, Math.floor(ceil(k, 16) / 4)));
}

function abortError(): Error {
  return new DOMException('The operation was cancelled; the state is unchanged.', 'AbortError');
}

export class GpuMambaModel implements MambaEngine {
  readonly device: GPUDevice;
  readonly chunkSize: number;
  readonly variant: KernelVariant;
  readonly useSubgroups: boolean;
  private readonly decodeRows?: number;
  private readonly bigMinTiles: number;
  private readonly splitTarget: number;
  /** Partial sums of split-K prefill GEMMs (gemm_tiled.wgsl's P), sized in buildPlan; shared by all GEMMs. */
  private splitK?: GPUBuffer;

  private readonly owned: GPUBuffer[] = [];
  private readonly pipes: PipelineCache;
  private readonly maxBinding: number;
  private readonly pl: LayerParamLayout;
  private readonly expected: Map<string, number[]>;
  private readonly received = new Set<string>();
  private readonly matrices = new Map<string, WeightMatrix>();
  private readonly layerParams: GPUBuffer[] = [];
  private readonly work: GPUBuffer[] = [];
  private normF!: GPUBuffer;
  /** Bound to the fused GEMV's conv outputs where a step does not use them (writable bindings may not alias). */
  private unusedRw!: [GPUBuffer, GPUBuffer];
  private act!: {
    dims: GPUBuffer;
    tokens: GPUBuffer;
    targets: GPUBuffer;
    resid: GPUBuffer;
    delta: GPUBuffer;
    normed: GPUBuffer;
    xz: GPUBuffer;
    xc: GPUBuffer;
    dbc: GPUBuffer;
    y: GPUBuffer;
    dt: GPUBuffer;
    logits: GPUBuffer;
    nll: GPUBuffer;
    lastNormed: GPUBuffer;
    lastLogits: GPUBuffer;
    sampleParams: GPUBuffer;
    rng: GPUBuffer;
    sampleOut: GPUBuffer;
  };
  private plan?: {
    body: Dispatch[];
    decodeBody: Dispatch[];
    normF: Dispatch[];
    headAll: Dispatch[];
    nll: Dispatch[];
    headLast: Dispatch[];
    /** Decode's norm_f + LM head on the one token, writing lastLogits. */
    decodeHead: Dispatch[];
    sample: Dispatch[];
  };
  private queue: Promise<unknown> = Promise.resolve();
  private lostError?: GpuDeviceLostError;
  private destroyed = false;

  private constructor(
    readonly dev: EngineDevice,
    readonly config: MambaConfig,
    readonly dtype: WeightDtype,
    opts: EngineOptions,
  ) {
    this.device = dev.device;
    this.pipes = PipelineCache.forDevice(this.device);
    this.variant = opts.variant ?? (dev.isSoftware ? 'software' : 'hardware');
    this.useSubgroups = this.variant === 'hardware' && dev.hasSubgroups && (opts.subgroups ?? true);
    if (
      opts.decodeRows !== undefined &&
      !(Number.isInteger(opts.decodeRows) && opts.decodeRows >= 1 && opts.decodeRows <= 4)
    ) {
      throw new RangeError(`decodeRows must be 1 to 4, got ${opts.decodeRows}`);
    }
    this.decodeRows = opts.decodeRows;
    this.bigMinTiles = opts.prefillGemm?.bigMinTiles ?? Infinity;
    this.splitTarget = opts.prefillGemm?.splitTarget ?? 264;
    this.maxBinding = Math.min(
      opts.maxBindingBytes ?? Infinity,
      this.device.limits.maxStorageBufferBindingSize,
    );
    // The logits of one chunk must fit one binding too.
    const byLogits = Math.floor(this.device.limits.maxStorageBufferBindingSize / (config.vocabSize * 4));
    // GPUs: 512-token chunks give the thin GEMMs (x_proj, out_proj) 4x the workgroups of 128 (the H200 run
    // measured 4 and 24 workgroups at 128 tokens, on a 132-SM GPU); SwiftShader has nothing to gain.
    const chunkDefault = this.variant === 'hardware' ? 512 : 128;
    this.chunkSize = Math.max(1, Math.min(opts.chunkSize ?? chunkDefault, byLogits));
    this.pl = layerParamLayout(config);
    this.expected = expectedTensorShapes(config);
    void dev.lost.then((e) => {
      this.lostError = e;
    });
  }

  /** Allocates parameter, state and activation buffers; then uploadTensor() each weight and finalize(). */
  static async create(dev: EngineDevice, config: MambaConfig, opts: EngineOptions): Promise<GpuMambaModel> {
    if (config.convKernel < 2 || config.convKernel > 8) {
      throw new ModelFormatError(
        `conv_kernel ${config.convKernel} is not supported (the engine handles 2 to 8).`,
      );
    }
    if (config.stateSize > 64) {
      throw new ModelFormatError(
        `state_size ${config.stateSize} is not supported (the engine handles up to 64).`,
      );
    }
    const m = new GpuMambaModel(dev, config, opts.dtype, opts);
    await m.guardAlloc('allocating the model buffers', () => m.allocate());
    return m;
  }

  /** Uploads every tensor of `weights` and finalizes. */
  static async fromWeights(dev: EngineDevice, w: MambaWeights, opts: EngineOptions): Promise<GpuMambaModel> {
    const m = await GpuMambaModel.create(dev, w.config, opts);
    await m.uploadTensor('backbone.embeddings.weight', w.embedding);
    await m.uploadTensor('backbone.norm_f.weight', w.normF);
    if (w.lmHead) await m.uploadTensor('lm_head.weight', w.lmHead);
    for (let l = 0; l < w.layers.length; l++) {
      const lw = w.layers[l]!;
      const p = `backbone.layers.${l}`;
      const named: [string, Float32Array | undefined][] = [
        [`${p}.norm.weight`, lw.norm],
        [`${p}.mixer.in_proj.weight`, lw.inProj],
        [`${p}.mixer.in_proj.bias`, lw.inProjBias],
        [`${p}.mixer.conv1d.weight`, lw.convWeight],
        [`${p}.mixer.conv1d.bias`, lw.convBias],
        [`${p}.mixer.x_proj.weight`, lw.xProj],
        [`${p}.mixer.dt_proj.weight`, lw.dtProj],
        [`${p}.mixer.dt_proj.bias`, lw.dtBias],
        [`${p}.mixer.A_log`, lw.aLog],
        [`${p}.mixer.D`, lw.d],
        [`${p}.mixer.out_proj.weight`, lw.outProj],
        [`${p}.mixer.out_proj.bias`, lw.outProjBias],
      ];
      for (const [name, data] of named) if (data) await m.uploadTensor(name, data);
    }
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
    const c = this.config;
    const { hiddenSize: dm, intermediateSize: di, stateSize: ds, timeStepRank: r, vocabSize: V } = c;
    const S = GPUBufferUsage.STORAGE;
    const CD = GPUBufferUsage.COPY_DST;
    const CS = GPUBufferUsage.COPY_SRC;
    const T = this.chunkSize;
    for (let l = 0; l < c.numLayers; l++) {
      this.layerParams.push(this.buffer(`layer${l}.params`, this.pl.total * 4, S | CD));
      this.work.push(this.buffer(`layer${l}.state`, layerStateLayout(c).total * 4, S | CD | CS));
    }
    this.normF = this.buffer('norm_f', dm * 4, S | CD);
    this.unusedRw = [this.buffer('unused.state', 16, S), this.buffer('unused.xc', 16, S)];
    this.act = {
      dims: this.buffer('dims', 16, GPUBufferUsage.UNIFORM | CD),
      tokens: this.buffer('tokens', T * 4, S | CD),
      targets: this.buffer('targets', T * 4, S | CD),
      resid: this.buffer('resid', T * dm * 4, S),
      delta: this.buffer('delta', T * dm * 4, S),
      normed: this.buffer('normed', T * dm * 4, S | CS),
      xz: this.buffer('xz', T * 2 * di * 4, S),
      xc: this.buffer('xc', T * di * 4, S),
      dbc: this.buffer('dbc', T * (r + 2 * ds) * 4, S),
      y: this.buffer('y', T * di * 4, S),
      dt: this.buffer('dt', T * di * 4, S),
      logits: this.buffer('logits', T * V * 4, S | CS),
      nll: this.buffer('nll', T * 4, S | CS),
      lastNormed: this.buffer('lastNormed', dm * 4, S | CD),
      lastLogits: this.buffer('lastLogits', V * 4, S | CS),
      sampleParams: this.buffer('sampleParams', 16, GPUBufferUsage.UNIFORM | CD),
      rng: this.buffer('rng', 4, S | CD),
      sampleOut: this.buffer('sampleOut', SAMPLE_OUT_WORDS * 4, S | CS),
    };
  }

  /**
   * Uploads one tensor by its Hugging Face name (so a loader can stream a checkpoint). Tensors the config
   * does not use (e.g. `lm_head.weight` of a tied model) are ignored. A wrong size is a ModelFormatError; out
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
    await this.guardAlloc(`uploading ${name}`, () => this.place(name, data, shape));
    this.received.add(name);
  }

  /**
   * For generated weights (benchmarks' random models, src/engine/randomWeights.ts): creates the row parts of
   * a big matrix (embedding, lm_head, in/x/out_proj) by the same planning as uploadTensor and lets `fill`
   * write each part on the GPU, in this engine's dtype and packing. Other tensors: use uploadTensor.
   */
  async uploadTensorGenerated(
    name: string,
    fill: (part: RowPart, cols: number, dtype: WeightDtype) => void,
  ): Promise<void> {
    if (this.plan) throw new Error('uploadTensorGenerated after finalize()');
    const shape = this.expected.get(name);
    if (!shape) return;
    const layer = /^backbone\.layers\.(\d+)\.mixer\.(in_proj|x_proj|out_proj)\.weight$/.exec(name);
    const key =
      name === 'backbone.embeddings.weight'
        ? 'embedding'
        : name === 'lm_head.weight'
          ? 'lm_head'
          : layer
            ? `layer${layer[1]}.${layer[2]}`
            : undefined;
    if (!key) throw new RangeError(`"${name}" is not a weight matrix; use uploadTensor for it.`);
    const [rows, cols] = shape as [number, number];
    await this.guardAlloc(`generating ${name}`, () => {
      const parts = planRowParts(rows, cols, this.dtype, this.maxBinding).map((p) => {
        const words = this.dtype === 'f16' ? Math.ceil((p.rows * cols) / 2) : p.rows * cols;
        const buffer = this.buffer(
          `${key}[${p.row0}..${p.row0 + p.rows})`,
          words * 4,
          GPUBufferUsage.STORAGE,
        );
        return { ...p, buffer };
      });
      this.matrices.set(key, { rows, cols, parts });
      for (const part of parts) fill(part, cols, this.dtype);
    });
    this.received.add(name);
  }

  /**
   * The prebuilt dispatches by phase (after finalize()), for benchmarks: counting dispatches per token and
   * timing each with timestamp queries. Read-only: encoding them outside a call is the caller's risk.
   */
  get dispatchPlan(): Readonly<Record<string, readonly Dispatch[]>> | undefined {
    return this.plan;
  }

  private place(name: string, data: Float32Array, shape: number[]): void {
    const q = this.device.queue;
    const track = (b: GPUBuffer) => this.owned.push(b);
    const matrix = (key: string) =>
      this.matrices.set(
        key,
        uploadMatrix(this.device, key, data, shape[0]!, shape[1]!, this.dtype, this.maxBinding, track),
      );
    if (name === 'backbone.embeddings.weight') return void matrix('embedding');
    if (name === 'lm_head.weight') return void matrix('lm_head');
    if (name === 'backbone.norm_f.weight') return writeArray(q, this.normF, 0, data);
    const m = /^backbone\.layers\.(\d+)\.(.+)$/.exec(name);
    if (!m) return;
    const l = Number(m[1]);
    const part = m[2]!;
    const params = this.layerParams[l]!;
    const at = (offset: number, values: Float32Array) => writeArray(q, params, offset * 4, values);
    switch (part) {
      case 'mixer.in_proj.weight':
      case 'mixer.x_proj.weight':
      case 'mixer.out_proj.weight':
        return void matrix(`layer${l}.${part.split('.')[1]!}`);
      case 'norm.weight':
        return at(this.pl.norm, data);
      case 'mixer.in_proj.bias':
        return at(this.pl.inProjBias, data);
      case 'mixer.conv1d.weight':
        return at(this.pl.convWeight, data);
      case 'mixer.conv1d.bias':
        return at(this.pl.convBias, data);
      case 'mixer.dt_proj.weight':
        return at(this.pl.dtProj, data);
      case 'mixer.dt_proj.bias':
        return at(this.pl.dtBias, data);
      case 'mixer.A_log':
        // The scan needs A = −exp(A_log); computing it once here saves an exp per state element per token.
        return at(
          this.pl.a,
          data.map((v) => -Math.exp(v)),
        );
      case 'mixer.D':
        return at(this.pl.d, data);
      case 'mixer.out_proj.bias':
        return at(this.pl.outProjBias, data);
      default:
        return;
    }
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
      this.plan = this.buildPlan();
    });
  }

  // ---------------------------------------------------------------- pipelines

  private gemmSteps(
    key: string,
    x: GPUBuffer,
    y: GPUBuffer,
    ldy: number,
    bias: GPUBuffer,
    biasOff: number | undefined,
    mode: 'gemm' | 'gemv',
  ): Dispatch[] {
    const m = this.matrices.get(key)!;
    if (mode === 'gemm' && this.variant === 'hardware') {
      return m.parts.flatMap((p) => this.tiledGemmSteps(key, m.cols, p, x, y, ldy, bias, biasOff));
    }
    const soft = this.variant === 'software';
    const coopGemv = this.useSubgroups ? 'gemv_subgroup' : 'gemv_coop';
    const kernel = mode === 'gemm' ? 'gemm_reg' : soft ? 'gemv' : coopGemv;
    return m.parts.map((p) => {
      const shape = this.shapeUniform(key, p, m.cols, ldy, biasOff);
      const pipeline = this.pipes.get(kernel, { F16: this.dtype === 'f16' });
      const dims = mode === 'gemm' ? this.act.dims : undefined;
      const bindGroup = this.pipes.bind(pipeline, `${key}.${kernel}`, [dims, x, p.buffer, bias, y, shape]);
      const size: Dispatch['size'] =
        kernel === 'gemm_reg'
          ? (t) => [ceil(ceil(p.rows, 4), 64), ceil(t, 4), 1]
          : kernel === 'gemv'
            ? () => [ceil(ceil(p.rows, 4), 64), 1, 1]
            : () => [p.rows, 1, 1];
      return { label: `${key}.${kernel}`, pipeline, bindGroup, size };
    });
  }

  /**
   * One row part of a prefill GEMM on GPUs (shaders/gemm_tiled.wgsl): three prebuilt dispatches of which the
   * chunk length picks one or two (the others get zero workgroups and are skipped): 128 x 128 tiles when
   * they alone give `bigMinTiles` workgroups (never by default), else 64 x 64 tiles, with split-K along z
   * when even those are too few (x_proj's 80 outputs, out_proj at short chunks), then the split-K reduce.
   */
  private tiledGemmSteps(
    key: string,
    K: number,
    p: RowPart,
    x: GPUBuffer,
    y: GPUBuffer,
    ldy: number,
    bias: GPUBuffer,
    biasOff: number | undefined,
  ): Dispatch[] {
    const f16 = this.dtype === 'f16';
    const bigShape = this.shapeUniform(key, p, K, ldy, biasOff, 1, 1);
    const midShape = this.shapeUniform(key, p, K, ldy, biasOff, this.splitTarget, maxSplitFor(K));
    const useBig = (t: number) => this.useBigTiles(t, p.rows);
    const split = (t: number) => this.midSplit(t, p.rows, K);
    const partials = this.splitK!;
    const big = this.pipes.get('gemm_tiled', { F16: f16, TM: 8, TN: 8 });
    const mid = this.pipes.get('gemm_tiled', { F16: f16, TM: 4, TN: 4 });
    const reduce = this.pipes.get('gemm_splitk_reduce', { TM: 4, TN: 4 });
    const d = this.act.dims;
    return [
      {
        label: `${key}.gemm128`,
        pipeline: big,
        bindGroup: this.pipes.bind(big, `${key}.gemm128`, [d, x, p.buffer, bias, y, bigShape, partials]),
        size: (t) => (useBig(t) ? [ceil(p.rows, 128), ceil(t, 128), 1] : [0, 0, 0]),
      },
      {
        label: `${key}.gemm64`,
        pipeline: mid,
        bindGroup: this.pipes.bind(mid, `${key}.gemm64`, [d, x, p.buffer, bias, y, midShape, partials]),
        size: (t) => (useBig(t) ? [0, 0, 0] : [ceil(p.rows, 64), ceil(t, 64), split(t)]),
      },
      {
        label: `${key}.splitk`,
        pipeline: reduce,
        bindGroup: this.pipes.bind(reduce, `${key}.splitk`, [
          d,
          undefined,
          undefined,
          bias,
          y,
          midShape,
          partials,
        ]),
        size: (t) => (!useBig(t) && split(t) > 1 ? [ceil(p.rows, 64), t, 1] : [0, 0, 0]),
      },
    ];
  }

  /** Whether a prefill GEMM part of `rows` outputs runs on 128 x 128 tiles at `t` tokens (else 64 x 64). */
  private useBigTiles(t: number, rows: number): boolean {
    return ceil(t, 128) * ceil(rows, 128) >= this.bigMinTiles;
  }

  /** Split-K workgroups along z of the 64 x 64 prefill GEMM of a part of `rows` outputs and `K` inputs. */
  private midSplit(t: number, rows: number, K: number): number {
    return splitCount(t, rows, 4, 4, this.splitTarget, maxSplitFor(K));
  }

  /** A Shape uniform (shaders/gemm*.wgsl, gemv*.wgsl) for row part `p` of matrix `key` with `K` inputs. */
  private shapeUniform(
    key: string,
    p: RowPart,
    K: number,
    ldy: number,
    biasOff: number | undefined,
    splitTarget = 0,
    maxSplit = 0,
  ): GPUBuffer {
    const b = this.buffer(`${key}.shape`, 32, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST);
    const words = [
      p.rows,
      K,
      ldy,
      p.row0,
      (biasOff ?? 0) + p.row0,
      biasOff !== undefined ? 1 : 0,
      splitTarget,
      maxSplit,
    ];
    writeArray(this.device.queue, b, 0, new Uint32Array(words));
    return b;
  }

  /** Floats of split-K partial sums the largest prefill GEMM part needs at any chunk length. */
  private splitKFloats(): number {
    let most = 4;
    for (const m of this.matrices.values()) {
      for (const p of m.parts) {
        for (let t = 1; t <= this.chunkSize; t++) {
          if (this.useBigTiles(t, p.rows)) continue;
          const s = this.midSplit(t, p.rows, m.cols);
          if (s > 1) most = Math.max(most, s * t * p.rows);
        }
      }
    }
    return most;
  }

  /**
   * Invocations for a one-workgroup reduction (RMSNorm, log-softmax, sampling): wide on GPUs; 4 on
   * SwiftShader, where each workgroup barrier costs a switch of every invocation's fiber (a 256-wide
   * sampler spent ~18 ms per token in barriers there).
   */
  private reductionWidth(gpu: number): number {
    return this.variant === 'software' ? 4 : gpu;
  }

  /**
   * Decode (hardware variant) keeps to 4 dispatches per layer through gemv_fused.wgsl, whose vec4 weight loads
   * need K % 8 == 0 (f16) / K % 4 == 0 (f32) for every matrix; other shapes keep the 6-dispatch plan.
   */
  private fusedDecode(): boolean {
    const { hiddenSize: dm, intermediateSize: di } = this.config;
    return this.variant === 'hardware' && dm % 8 === 0 && di % 8 === 0;
  }

  /** One fused-GEMV dispatch per row part of matrix `key` (see shaders/gemv_fused.wgsl for the flags). */
  private fusedGemvSteps(
    key: string,
    x: GPUBuffer,
    y: GPUBuffer,
    params: GPUBuffer,
    biasOff: number | undefined,
    consts: Constants,
    conv?: { state: GPUBuffer; xc: GPUBuffer },
  ): Dispatch[] {
    const m = this.matrices.get(key)!;
    const kernel = this.useSubgroups ? 'gemv_fused_sg' : 'gemv_fused';
    return m.parts.map((p) => {
      const rows = this.decodeRows ?? (p.rows >= 4096 ? 4 : 1);
      const pipeline = this.pipes.get(kernel, { F16: this.dtype === 'f16', ROWS: rows, ...consts });
      const shape = this.buffer(`${key}.shape`, 32, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST);
      const words = [p.rows, m.cols, 0, p.row0, (biasOff ?? 0) + p.row0, biasOff !== undefined ? 1 : 0, 0, 0];
      writeArray(this.device.queue, shape, 0, new Uint32Array(words));
      const [s, xc] = conv ? [conv.state, conv.xc] : this.unusedRw;
      const bindGroup = this.pipes.bind(pipeline, `${key}.${kernel}`, [shape, x, p.buffer, params, y, s, xc]);
      return { label: `${key}.${kernel}`, pipeline, bindGroup, size: () => [ceil(p.rows, rows), 1, 1] };
    });
  }

  /** Decode body of the hardware variant: embed, then per layer norm+in_proj+conv, x_proj, scan, out_proj+residual. */
  private fusedDecodeBody(embed: Dispatch[], scanStep: (l: number) => Dispatch): Dispatch[] {
    const c = this.config;
    const a = this.act;
    const pl = this.pl;
    const sl = layerStateLayout(c);
    const steps: Dispatch[] = [...embed];
    for (let l = 0; l < c.numLayers; l++) {
      const params = this.layerParams[l]!;
      const bias = c.useBias ? pl.inProjBias : undefined;
      steps.push(
        ...this.fusedGemvSteps(
          `layer${l}.in_proj`,
          a.resid,
          a.xz,
          params,
          bias,
          {
            NORM: true,
            EPS: c.layerNormEpsilon,
            NW_OFF: pl.norm,
            CONV: true,
            DI: c.intermediateSize,
            DC: c.convKernel,
            HAS_CONV_BIAS: c.useConvBias,
            CW_OFF: pl.convWeight,
            CB_OFF: pl.convBias,
            CONV_OFF: sl.conv,
          },
          { state: this.work[l]!, xc: a.xc },
        ),
      );
      steps.push(...this.fusedGemvSteps(`layer${l}.x_proj`, a.xc, a.dbc, params, undefined, {}));
      steps.push(scanStep(l));
      steps.push(
        ...this.fusedGemvSteps(
          `layer${l}.out_proj`,
          a.y,
          a.resid,
          params,
          c.useBias ? pl.outProjBias : undefined,
          {
            ACCUM: true,
          },
        ),
      );
    }
    return steps;
  }

  private rmsnormStep(label: string, add: boolean, weight: GPUBuffer, wOff: number): Dispatch {
    const a = this.act;
    const pipeline = this.pipes.get('rmsnorm', {
      DM: this.config.hiddenSize,
      ADD: add,
      EPS: this.config.layerNormEpsilon,
      W_OFF: wOff,
      WG: this.reductionWidth(64),
    });
    const bindGroup = this.pipes.bind(pipeline, label, [a.dims, a.delta, a.resid, weight, a.normed]);
    return { label, pipeline, bindGroup, size: (t) => [t, 1, 1] };
  }

  private buildPlan(): NonNullable<GpuMambaModel['plan']> {
    if (this.variant === 'hardware') {
      this.splitK = this.buffer('splitK.partials', this.splitKFloats() * 4, GPUBufferUsage.STORAGE);
    }
    const c = this.config;
    const a = this.act;
    const { hiddenSize: dm, intermediateSize: di, stateSize: ds, timeStepRank: r, vocabSize: V } = c;
    const f16 = this.dtype === 'f16';
    const sl = layerStateLayout(c);
    const pl = this.pl;

    const embedding = this.matrices.get('embedding')!;
    const embed: Dispatch[] = embedding.parts.map((p) => {
      const range = this.buffer('embed.part', 16, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST);
      writeArray(this.device.queue, range, 0, new Uint32Array([p.row0, p.rows, 0, 0]));
      const pipeline = this.pipes.get('embed', { DM: dm, F16: f16 });
      const bindGroup = this.pipes.bind(pipeline, 'embed', [a.dims, a.tokens, p.buffer, a.resid, range]);
      return { label: 'embed', pipeline, bindGroup, size: (t) => [ceil(dm, 64), t, 1] };
    });

    const scanStep = (l: number, dtPre = false): Dispatch => {
      const scanConsts: Constants = {
        DI: di,
        DS: ds,
        R: r,
        DTW_OFF: pl.dtProj,
        DTB_OFF: pl.dtBias,
        A_OFF: pl.a,
        D_OFF: pl.d,
      };
      const coop = this.variant === 'hardware';
      const cpw = Math.max(1, Math.floor(64 / ds));
      if (coop) scanConsts['CPW'] = cpw;
      if (coop) scanConsts['DT_PRE'] = dtPre;
      const scanPipe = this.pipes.get(coop ? 'scan_coop' : 'scan', scanConsts);
      return {
        label: `layer${l}.scan`,
        pipeline: scanPipe,
        bindGroup: this.pipes.bind(scanPipe, `layer${l}.scan`, [
          a.dims,
          a.dbc,
          a.xz,
          a.xc,
          this.layerParams[l]!,
          this.work[l]!,
          a.y,
          coop ? a.dt : undefined,
        ]),
        size: () => [coop ? ceil(di, cpw) : ceil(di, 64), 1, 1],
      };
    };

    const layerSteps = (mode: 'gemm' | 'gemv'): Dispatch[] => {
      const steps: Dispatch[] = [...embed];
      for (let l = 0; l < c.numLayers; l++) {
        const params = this.layerParams[l]!;
        const work = this.work[l]!;
        steps.push(this.rmsnormStep(`layer${l}.norm`, l > 0, params, pl.norm));
        steps.push(
          ...this.gemmSteps(
            `layer${l}.in_proj`,
            a.normed,
            a.xz,
            2 * di,
            params,
            c.useBias ? pl.inProjBias : undefined,
            mode,
          ),
        );
        const convPipe = this.pipes.get('conv1d', {
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
          bindGroup: this.pipes.bind(convPipe, `layer${l}.conv`, [a.dims, a.xz, params, work, a.xc]),
          // 8 tokens per invocation (TT in shaders/conv1d.wgsl): parallel over the chunk's tokens.
          size: (t) => [ceil(di, 64), ceil(t, 8), 1],
        });
        steps.push(...this.gemmSteps(`layer${l}.x_proj`, a.xc, a.dbc, r + 2 * ds, params, undefined, mode));
        // Prefill on GPUs: dt_proj for the whole chunk in parallel first, so the sequential scan does less.
        const dtPre = mode === 'gemm' && this.variant === 'hardware';
        if (dtPre) {
          const dtPipe = this.pipes.get('dt_proj', {
            DI: di,
            DS: ds,
            R: r,
            DTW_OFF: pl.dtProj,
            DTB_OFF: pl.dtBias,
          });
          steps.push({
            label: `layer${l}.dt_proj`,
            pipeline: dtPipe,
            bindGroup: this.pipes.bind(dtPipe, `layer${l}.dt_proj`, [a.dims, a.dbc, params, a.dt]),
            size: (t) => [ceil(di, 64), ceil(t, 64), 1],
          });
        }
        steps.push(scanStep(l, dtPre));
        steps.push(
          ...this.gemmSteps(
            `layer${l}.out_proj`,
            a.y,
            a.delta,
            dm,
            params,
            c.useBias ? pl.outProjBias : undefined,
            mode,
          ),
        );
      }
      return steps;
    };

    const headKey = c.tieWordEmbeddings ? 'embedding' : 'lm_head';
    const normF = this.rmsnormStep('norm_f', true, this.normF, 0);
    const nllPipe = this.pipes.get('nll', { V, WG: this.reductionWidth(64) });
    const samplePipe = this.pipes.get('sample', { V, WG: this.reductionWidth(256) });
    return {
      body: layerSteps('gemm'),
      decodeBody: this.fusedDecode() ? this.fusedDecodeBody(embed, scanStep) : layerSteps('gemv'),
      normF: [normF],
      headAll: this.gemmSteps(headKey, a.normed, a.logits, V, this.normF, undefined, 'gemm'),
      headLast: this.gemmSteps(headKey, a.lastNormed, a.lastLogits, V, this.normF, undefined, 'gemv'),
      // Decode: out_proj+residual already left the final residual in row 0 (fused plan), so norm_f folds into
      // the head GEMV; the 6-dispatch plan still adds the last delta in norm_f and reads row 0 of `normed`.
      decodeHead: this.fusedDecode()
        ? this.fusedGemvSteps(headKey, a.resid, a.lastLogits, this.normF, undefined, {
            NORM: true,
            EPS: c.layerNormEpsilon,
          })
        : [normF, ...this.gemmSteps(headKey, a.normed, a.lastLogits, V, this.normF, undefined, 'gemv')],
      nll: [
        {
          label: 'nll',
          pipeline: nllPipe,
          bindGroup: this.pipes.bind(nllPipe, 'nll', [a.dims, a.logits, a.targets, a.nll]),
          size: (t) => [t, 1, 1],
        },
      ],
      sample: [
        {
          label: 'sample',
          pipeline: samplePipe,
          bindGroup: this.pipes.bind(samplePipe, 'sample', [
            a.sampleParams,
            a.lastLogits,
            a.rng,
            a.tokens,
            a.sampleOut,
          ]),
          size: () => [1, 1, 1],
        },
      ],
    };
  }

  // ---------------------------------------------------------------- states

  createState(): GpuState {
    const { numLayers: L, intermediateSize: di, stateSize: ds, convKernel: dc } = this.config;
    const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
    const mk = (label: string, n: number) =>
      this.device.createBuffer({ label, size: Math.max(16, n * 4), usage });
    const ssm = mk('state.ssm', L * di * ds);
    const conv = mk('state.conv', L * di * (dc - 1));
    const dtSum = mk('state.dtSum', L * di);
    const s: GpuState = {
      ssm,
      conv,
      dtSum,
      destroy: () => {
        ssm.destroy();
        conv.destroy();
        dtSum.destroy();
      },
    };
    this.resetState(s);
    return s;
  }

  resetState(state: GpuState): void {
    const enc = this.device.createCommandEncoder({ label: 'resetState' });
    enc.clearBuffer(state.ssm);
    enc.clearBuffer(state.conv);
    enc.clearBuffer(state.dtSum);
    this.device.queue.submit([enc.finish()]);
  }

  copyState(dst: GpuState, src: GpuState): void {
    const enc = this.device.createCommandEncoder({ label: 'copyState' });
    enc.copyBufferToBuffer(src.ssm, 0, dst.ssm, 0, src.ssm.size);
    enc.copyBufferToBuffer(src.conv, 0, dst.conv, 0, src.conv.size);
    enc.copyBufferToBuffer(src.dtSum, 0, dst.dtSum, 0, src.dtSum.size);
    this.device.queue.submit([enc.finish()]);
  }

  async readState(state: GpuState): Promise<MambaState> {
    return this.exclusive(async () => {
      const { numLayers: L, intermediateSize: di, stateSize: ds, convKernel: dc } = this.config;
      const sizes = [L * di * ds, L * di * (dc - 1), L * di];
      const srcs = [state.ssm, state.conv, state.dtSum];
      const enc = this.device.createCommandEncoder({ label: 'readState' });
      const staging = sizes.map((n, i) => {
        const b = this.device.createBuffer({
          size: Math.max(16, n * 4),
          usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
        });
        if (n > 0) enc.copyBufferToBuffer(srcs[i]!, 0, b, 0, n * 4);
        return b;
      });
      this.device.queue.submit([enc.finish()]);
      const host = await Promise.all(
        staging.map(async (b, i) => {
          await b.mapAsync(GPUMapMode.READ);
          const v = new Float32Array(b.getMappedRange(0, sizes[i]! * 4).slice(0));
          b.destroy();
          return v;
        }),
      );
      const [ssm, conv, dtSum] = host as [Float32Array, Float32Array, Float32Array];
      return {
        layers: Array.from({ length: L }, (_, l) => ({
          ssm: ssm.slice(l * di * ds, (l + 1) * di * ds),
          conv: conv.slice(l * di * (dc - 1), (l + 1) * di * (dc - 1)),
          dtSum: dtSum.slice(l * di, (l + 1) * di),
        })),
      };
    });
  }

  writeState(state: GpuState, host: MambaState): void {
    const { numLayers: L, intermediateSize: di, stateSize: ds, convKernel: dc } = this.config;
    if (host.layers.length !== L)
      throw new RangeError(`writeState: ${host.layers.length} layers, model has ${L}.`);
    const q = this.device.queue;
    host.layers.forEach((ls, l) => {
      if (ls.ssm.length !== di * ds || ls.conv.length !== di * (dc - 1) || ls.dtSum.length !== di) {
        throw new RangeError(`writeState: layer ${l} has the wrong sizes for this model.`);
      }
      writeArray(q, state.ssm, l * di * ds * 4, ls.ssm);
      if (dc > 1) writeArray(q, state.conv, l * di * (dc - 1) * 4, ls.conv);
      writeArray(q, state.dtSum, l * di * 4, ls.dtSum);
    });
  }

  /** Copies between a caller's GpuState and the per-layer working state. */
  private encodeStateCopy(enc: GPUCommandEncoder, state: GpuState, toWork: boolean): void {
    const { intermediateSize: di, stateSize: ds, convKernel: dc } = this.config;
    const sl = layerStateLayout(this.config);
    this.work.forEach((w, l) => {
      const pieces: [GPUBuffer, number, number, number][] = [
        [state.ssm, l * di * ds * 4, sl.ssm * 4, di * ds * 4],
        [state.dtSum, l * di * 4, sl.dtSum * 4, di * 4],
        [state.conv, l * di * (dc - 1) * 4, sl.conv * 4, di * (dc - 1) * 4],
      ];
      for (const [buf, off, woff, bytes] of pieces) {
        if (bytes === 0) continue;
        if (toWork) enc.copyBufferToBuffer(buf, off, w, woff, bytes);
        else enc.copyBufferToBuffer(w, woff, buf, off, bytes);
      }
    });
  }

  // ---------------------------------------------------------------- running

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = async () => {
      if (this.destroyed) throw new Error('The engine was destroyed; load the model again.');
      if (this.lostError) throw this.lostError;
      try {
        return await fn();
      } catch (e) {
        if (this.lostError) throw this.lostError;
        throw e;
      }
    };
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => undefined);
    return p;
  }

  private checkTokens(tokens: ArrayLike<number>): Uint32Array {
    const V = this.config.vocabSize;
    const out = new Uint32Array(tokens.length);
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i]!;
      if (!Number.isInteger(t) || t < 0 || t >= V) {
        throw new RangeError(
          `Token id ${t} at position ${i} is outside this model's vocabulary (0..${V - 1}).`,
        );
      }
      out[i] = t;
    }
    return out;
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
    return this.device.createBuffer({
      label: 'readback',
      size: Math.max(16, bytes),
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
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
      const report = Math.max(0, Math.min(16, Math.floor(options.reportTop ?? 0)));
      const temperature = options.temperature ?? 0;
      const sp = new ArrayBuffer(16);
      new Float32Array(sp, 0, 1)[0] = temperature > 0 ? temperature : 0;
      new Uint32Array(sp, 4, 1)[0] = Math.max(0, Math.floor(options.topK ?? 0));
      new Float32Array(sp, 8, 1)[0] = options.topP ?? 1;
      new Uint32Array(sp, 12, 1)[0] = report;
      q.writeBuffer(this.act.sampleParams, 0, sp);
      q.writeBuffer(this.act.rng, 0, new Uint32Array([seedWord(options.seed)]));

      const enc0 = this.device.createCommandEncoder({ label: 'state→work' });
      this.encodeStateCopy(enc0, state, true);
      q.submit([enc0.finish()]);

      const outBytes = report > 0 ? (3 + 2 * report) * 4 : 4;
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
          const id = words[0]!;
          emitted.push(id);
          if (report > 0) {
            const f = new Float32Array(words.buffer);
            const alternatives = [];
            for (let j = 0; j < words[2]!; j++)
              alternatives.push({ id: words[3 + 2 * j]!, prob: f[4 + 2 * j]! });
            const info: TokenReport = { prob: f[1]!, alternatives };
            options.onToken?.(id, i, info);
          } else {
            options.onToken?.(id, i);
          }
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

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const b of this.owned) b.destroy();
    this.owned.length = 0;
    this.plan = undefined;
  }
}

/** queue.writeBuffer for any typed array (host arrays may view a SharedArrayBuffer in the typings). */
function writeArray(q: GPUQueue, buffer: GPUBuffer, byteOffset: number, data: ArrayBufferView): void {
  q.writeBuffer(buffer, byteOffset, data.buffer as ArrayBuffer, data.byteOffset, data.byteLength);
}

/** The sampler's initial PCG state: from the seed when given (same seed, same tokens), else random. */
function seedWord(seed: number | undefined): number {
  const s = seed === undefined ? Math.floor(Math.random() * 0x100000000) : Math.floor(seed);
  // SplitMix-style scramble so nearby seeds start far apart.
  let z = (s + 0x9e3779b9) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

/** Opens the engine for `weights` on `dev`. */
export function createEngine(dev: EngineDevice, weights: MambaWeights, opts: EngineOptions) {
  return GpuMambaModel.fromWeights(dev, weights, opts);
}
