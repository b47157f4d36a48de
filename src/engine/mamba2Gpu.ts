/**
 * A Mamba-2 forward pass on the GPU, f32 weights: the first working assembly of the Mamba-2 kernels with the
 * engine's embedding, RMSNorm and matmul kernels (gemm_reg, the software GEMM, for every matrix). Not yet
 * wired into the loader, the worker or the CLI; the plan builders of src/engine/plan/ will take it over.
 *
 * Per chunk of T tokens: embed → per layer [rmsnorm (+ the previous out_proj) → in_proj → m2_conv →
 * scan → m2_gated_norm → out_proj] → rmsnorm (+ the last out_proj) with norm_f → LM head. The scan is the
 * three-pass chunked SSD (m2_ssd_*) or the token step (m2_scan_step); both start from the layer's state and
 * leave the final one there. Each layer's state is one buffer laid out as `mamba2StateLayout` says.
 */
import { ModelFormatError } from '../model/errors.ts';
import type { Mamba2Config } from '../model/mamba2Config.ts';
import type { EngineDevice } from './gpu/device.ts';
import { uploadMatrix, type WeightMatrix } from './gpu/weightMatrix.ts';
import { encodeDispatches, PipelineCache, type Dispatch } from './kernels/pipelines.ts';
import { writeUniform } from './kernels/uniforms.ts';
import {
  mamba2StateSizes,
  type Mamba2LayerWeights,
  type Mamba2State,
  type Mamba2Weights,
} from './mamba2Weights.ts';

const ceil = (a: number, b: number) => Math.ceil(a / b);
/** Chunk length of the chunked scan (at most 32: its workgroup holds a Q × Q matrix). */
const SCAN_CHUNK = 32;

/** Where each part of a layer's state lies in its buffer (in f32 elements). */
export function mamba2StateLayout(c: Mamba2Config) {
  const s = mamba2StateSizes(c);
  return { ssm: 0, dtSum: s.ssm, conv: s.ssm + s.dtSum, total: s.ssm + s.dtSum + s.conv };
}

/** Offsets (f32 elements) of a layer's small tensors in its parameter buffer. */
interface ParamLayout {
  norm: number;
  convW: number;
  convB: number;
  dtBias: number;
  aLog: number;
  d: number;
  gateNorm: number;
  inBias: number;
  outBias: number;
  total: number;
}

function packParams(w: Mamba2LayerWeights): { layout: ParamLayout; data: Float32Array<ArrayBuffer> } {
  const pieces: [keyof Omit<ParamLayout, 'total'>, Float32Array | undefined][] = [
    ['norm', w.norm],
    ['convW', w.convWeight],
    ['convB', w.convBias],
    ['dtBias', w.dtBias],
    ['aLog', w.aLog],
    ['d', w.d],
    ['gateNorm', w.gateNorm],
    ['inBias', w.inProjBias],
    ['outBias', w.outProjBias],
  ];
  const layout = { total: 0 } as ParamLayout;
  for (const [k, v] of pieces) {
    layout[k] = layout.total;
    layout.total += v?.length ?? 0;
  }
  const data = new Float32Array(Math.max(4, layout.total));
  for (const [k, v] of pieces) if (v) data.set(v, layout[k]);
  return { layout, data };
}

export type Mamba2ScanMode = 'chunked' | 'step';

export class GpuMamba2Model {
  private readonly device: GPUDevice;
  private readonly pipes: PipelineCache;
  private readonly made: GPUBuffer[] = [];
  private readonly embedding: WeightMatrix;
  private readonly lmHead: WeightMatrix;
  private readonly layers: {
    inProj: WeightMatrix;
    outProj: WeightMatrix;
    params: GPUBuffer;
    layout: ParamLayout;
  }[];
  private readonly normF: GPUBuffer;
  /** One buffer per layer: ssm | dtSum | conv. */
  readonly states: GPUBuffer[];
  private readonly act: Record<
    | 'dims'
    | 'tokens'
    | 'resid'
    | 'delta'
    | 'normed'
    | 'proj'
    | 'xbc'
    | 'y'
    | 'gated'
    | 'cum'
    | 'dl'
    | 'cs'
    | 'logits',
    GPUBuffer
  >;
  private readonly plans = new Map<Mamba2ScanMode, Dispatch[]>();

  constructor(
    private readonly dev: EngineDevice,
    private readonly weights: Mamba2Weights,
    /** The longest chunk one `forward` call processes. */
    readonly maxTokens = 128,
  ) {
    this.device = dev.device;
    this.pipes = PipelineCache.forDevice(this.device);
    const c = weights.config;
    if (c.convKernel > 8) {
      // m2_conv keeps its window in an 8-entry register array.
      throw new ModelFormatError(
        `conv_kernel ${c.convKernel} is larger than this engine supports (at most 8).`,
      );
    }
    const maxBinding = this.device.limits.maxStorageBufferBindingSize;
    const track = (b: GPUBuffer) => this.made.push(b);
    const matrix = (label: string, data: Float32Array, rows: number, cols: number) =>
      uploadMatrix(this.device, label, data, rows, cols, 'f32', maxBinding, track);
    this.embedding = matrix('embedding', weights.embedding, c.vocabSize, c.hiddenSize);
    this.lmHead = weights.lmHead
      ? matrix('lm_head', weights.lmHead, c.vocabSize, c.hiddenSize)
      : this.embedding;
    this.layers = weights.layers.map((w, l) => {
      const { layout, data } = packParams(w);
      return {
        inProj: matrix(`layer${l}.in_proj`, w.inProj, c.inProjSize, c.hiddenSize),
        outProj: matrix(`layer${l}.out_proj`, w.outProj, c.hiddenSize, c.intermediateSize),
        params: this.storage(`layer${l}.params`, data.length, data),
        layout,
      };
    });
    this.normF = this.storage('norm_f', weights.normF.length, Float32Array.from(weights.normF));
    const stateSize = mamba2StateLayout(c).total;
    this.states = weights.layers.map((_, l) => this.storage(`layer${l}.state`, stateSize));
    const T = maxTokens;
    const H = c.numHeads;
    this.act = {
      dims: this.uniform('dims'),
      tokens: this.storage('tokens', T),
      resid: this.storage('resid', T * c.hiddenSize),
      delta: this.storage('delta', T * c.hiddenSize),
      normed: this.storage('normed', T * c.hiddenSize),
      proj: this.storage('proj', T * c.inProjSize),
      xbc: this.storage('xbc', T * c.convDim),
      y: this.storage('y', T * c.intermediateSize),
      gated: this.storage('gated', T * c.intermediateSize),
      cum: this.storage('cum', T * H),
      dl: this.storage('dl', T * H),
      cs: this.storage('cs', ceil(T, SCAN_CHUNK) * H * c.headDim * c.stateSize),
      logits: this.storage('logits', T * c.vocabSize),
    };
  }

  private storage(label: string, floats: number, data?: Float32Array<ArrayBuffer>): GPUBuffer {
    const b = this.device.createBuffer({
      label,
      size: Math.max(16, Math.ceil((4 * floats) / 16) * 16),
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC,
    });
    if (data) this.device.queue.writeBuffer(b, 0, data);
    this.made.push(b);
    return b;
  }

  private uniform(label: string): GPUBuffer {
    const b = this.device.createBuffer({
      label,
      size: 32,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
    this.made.push(b);
    return b;
  }

  /** Y[:, 0..rows) = X · Wᵀ (+ bias) through gemm_reg, one dispatch per row part of `m`. */
  private matmul(
    label: string,
    m: WeightMatrix,
    x: GPUBuffer,
    y: GPUBuffer,
    ldy: number,
    bias?: [GPUBuffer, number],
  ) {
    return m.parts.map((p) => {
      const shape = this.uniform(`${label}.shape`);
      writeUniform(this.device.queue, shape, 'gemm_reg', 'shape', {
        N: p.rows,
        K: m.cols,
        LDY: ldy,
        COL0: p.row0,
        BIAS_OFF: bias ? bias[1] + p.row0 : 0,
        HAS_BIAS: bias ? 1 : 0,
        SPLIT_TARGET: 0,
        MAX_SPLIT: 0,
      });
      return this.pipes
        .kernel('gemm_reg', { F16: false })
        .dispatch(
          label,
          { dims: this.act.dims, X: x, W: p.buffer, bias: bias?.[0] ?? x, Y: y, shape },
          (t) => [ceil(ceil(p.rows, 4), 64), ceil(t, 4), 1],
        );
    });
  }

  private rmsnorm(label: string, add: boolean, weight: GPUBuffer, wOff: number): Dispatch {
    const c = this.weights.config;
    const a = this.act;
    return this.pipes
      .kernel('rmsnorm', {
        DM: c.hiddenSize,
        ADD: add,
        EPS: c.layerNormEpsilon,
        W_OFF: wOff,
        WG: this.dev.isSoftware ? 4 : 64,
      })
      .dispatch(label, { dims: a.dims, delta: a.delta, resid: a.resid, weight, out: a.normed }, (t) => [
        t,
        1,
        1,
      ]);
  }

  private scan(l: number, mode: Mamba2ScanMode): Dispatch[] {
    const c = this.weights.config;
    const a = this.act;
    const { layout: pl, params } = this.layers[l]!;
    const sl = mamba2StateLayout(c);
    const state = this.states[l]!;
    const [H, P, G, N, Q] = [c.numHeads, c.headDim, c.nGroups, c.stateSize, SCAN_CHUNK];
    const dt = {
      DTB_OFF: pl.dtBias,
      DT_MIN: c.timeStepLimit[0],
      DT_MAX: Math.min(c.timeStepLimit[1], 3.4028234e38),
      LDP: c.inProjSize,
      DT_COL: c.intermediateSize + c.convDim,
    };
    if (mode === 'step') {
      const consts = { ...dt, H, P, G, N, A_OFF: pl.aLog, D_OFF: pl.d, SSM_OFF: sl.ssm, DTS_OFF: sl.dtSum };
      return [
        this.pipes
          .kernel('m2_scan_step', consts)
          .dispatch(
            `layer${l}.scan`,
            { dims: a.dims, xbc: a.xbc, proj: a.proj, params, state, y: a.y },
            () => [ceil(H * P, 64), 1, 1],
          ),
      ];
    }
    const grid = (t: number): [number, number, number] => [ceil(t, Q), H, 1];
    const { dims, xbc, proj, cum, dl, cs, y } = a;
    return [
      this.pipes
        .kernel('m2_ssd_chunk_state', { ...dt, H, P, G, N, Q, A_OFF: pl.aLog })
        .dispatch(`layer${l}.chunk_state`, { dims, xbc, proj, params, cum, dl, cs }, grid),
      this.pipes
        .kernel('m2_ssd_state_pass', { H, P, N, Q, SSM_OFF: sl.ssm, DTS_OFF: sl.dtSum })
        .dispatch(`layer${l}.state_pass`, { dims, cum, dl, state, cs }, () => [ceil(P * N, 64), H, 1]),
      this.pipes
        .kernel('m2_ssd_chunk_scan', { H, P, G, N, Q, D_OFF: pl.d })
        .dispatch(`layer${l}.chunk_scan`, { dims, xbc, params, cum, dl, cs, y }, grid),
    ];
  }

  private plan(mode: Mamba2ScanMode): Dispatch[] {
    const hit = this.plans.get(mode);
    if (hit) return hit;
    const c = this.weights.config;
    const a = this.act;
    const sl = mamba2StateLayout(c);
    const steps: Dispatch[] = this.embedding.parts.map((p) => {
      const part = this.uniform('embed.part');
      writeUniform(this.device.queue, part, 'embed', 'part', { ROW0: p.row0, ROWS: p.rows });
      return this.pipes
        .kernel('embed', { DM: c.hiddenSize, F16: false })
        .dispatch('embed', { dims: a.dims, tokens: a.tokens, W: p.buffer, resid: a.resid, part }, (t) => [
          ceil(c.hiddenSize, 64),
          t,
          1,
        ]);
    });
    this.layers.forEach((layer, l) => {
      const { layout: pl, params } = layer;
      steps.push(this.rmsnorm(`layer${l}.norm`, l > 0, params, pl.norm));
      const inBias: [GPUBuffer, number] | undefined = c.useBias ? [params, pl.inBias] : undefined;
      steps.push(...this.matmul(`layer${l}.in_proj`, layer.inProj, a.normed, a.proj, c.inProjSize, inBias));
      steps.push(
        this.pipes
          .kernel('m2_conv', {
            CD: c.convDim,
            DC: c.convKernel,
            LDP: c.inProjSize,
            XBC_COL: c.intermediateSize,
            HAS_BIAS: c.useConvBias,
            CW_OFF: pl.convW,
            CB_OFF: pl.convB,
            CONV_OFF: sl.conv,
          })
          .dispatch(
            `layer${l}.conv`,
            { dims: a.dims, proj: a.proj, params, state: this.states[l]!, xbc: a.xbc },
            (t) => [ceil(c.convDim, 64), ceil(t, 8), 1],
          ),
      );
      steps.push(...this.scan(l, mode));
      steps.push(
        this.pipes
          .kernel('m2_gated_norm', {
            DI: c.intermediateSize,
            GS: c.intermediateSize,
            LDP: c.inProjSize,
            Z_COL: 0,
            W_OFF: pl.gateNorm,
            EPS: c.layerNormEpsilon,
            WG: this.dev.isSoftware ? 4 : 64,
          })
          .dispatch(
            `layer${l}.gated_norm`,
            { dims: a.dims, y: a.y, proj: a.proj, weight: params, out: a.gated },
            (t) => [t, 1, 1],
          ),
      );
      const outBias: [GPUBuffer, number] | undefined = c.useBias ? [params, pl.outBias] : undefined;
      steps.push(
        ...this.matmul(`layer${l}.out_proj`, layer.outProj, a.gated, a.delta, c.hiddenSize, outBias),
      );
    });
    steps.push(this.rmsnorm('norm_f', true, this.normF, 0));
    steps.push(...this.matmul('lm_head', this.lmHead, a.normed, a.logits, c.vocabSize));
    this.plans.set(mode, steps);
    return steps;
  }

  /**
   * Processes `tokens` (at most maxTokens) from the current state, leaving the final state in `states`, and
   * returns the logits of every position [T, vocab].
   */
  async forward(tokens: ArrayLike<number>, mode: Mamba2ScanMode = 'chunked'): Promise<Float32Array> {
    const T = tokens.length;
    if (T < 1 || T > this.maxTokens)
      throw new RangeError(`forward takes 1 to ${this.maxTokens} tokens, not ${T}.`);
    const V = this.weights.config.vocabSize;
    writeUniform(this.device.queue, this.act.dims, 'm2_conv', 'dims', { T, pos0: 0 });
    this.device.queue.writeBuffer(this.act.tokens, 0, Uint32Array.from(tokens));
    const enc = this.device.createCommandEncoder();
    const pass = enc.beginComputePass();
    encodeDispatches(pass, this.plan(mode), T);
    pass.end();
    const [logits] = await this.read(enc, [[this.act.logits, T * V]]);
    return logits!;
  }

  /** The state of every layer, read back. */
  async readState(): Promise<Mamba2State<Float32Array>> {
    const c = this.weights.config;
    const sl = mamba2StateLayout(c);
    const raw = await this.read(
      this.device.createCommandEncoder(),
      this.states.map((b) => [b, sl.total] as [GPUBuffer, number]),
    );
    return {
      layers: raw.map((r) => ({
        ssm: r.slice(sl.ssm, sl.dtSum),
        dtSum: r.slice(sl.dtSum, sl.conv),
        conv: r.slice(sl.conv, sl.total),
      })),
    };
  }

  /** Replaces every layer's state (zero when omitted). */
  writeState(state?: Mamba2State): void {
    const sl = mamba2StateLayout(this.weights.config);
    this.states.forEach((b, l) => {
      const data = new Float32Array(sl.total);
      const s = state?.layers[l];
      if (s) {
        data.set(s.ssm, sl.ssm);
        data.set(s.dtSum, sl.dtSum);
        data.set(s.conv, sl.conv);
      }
      this.device.queue.writeBuffer(b, 0, data);
    });
  }

  private async read(enc: GPUCommandEncoder, what: [GPUBuffer, number][]): Promise<Float32Array[]> {
    const staging = what.map(([src, n]) => {
      const r = this.device.createBuffer({
        size: 4 * n,
        usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
      });
      enc.copyBufferToBuffer(src, 0, r, 0, 4 * n);
      return r;
    });
    this.device.queue.submit([enc.finish()]);
    return Promise.all(
      staging.map(async (r) => {
        await r.mapAsync(GPUMapMode.READ);
        const out = new Float32Array(r.getMappedRange().slice(0));
        r.destroy();
        return out;
      }),
    );
  }

  destroy(): void {
    for (const b of this.made) b.destroy();
  }
}
