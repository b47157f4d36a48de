/**
 * Mixing on the GPU, directly on the buffers of `GpuState`s (src/engine/api.ts), by the plan of mixSpec.ts:
 * mix_linear (weighted sums, Σ Δ), mix_mean (the exact mean) and mix_adecay (ordered chunks). The result is
 * written into a destination state that the engine then reads from (generate, score). Equal to mixStatesCpu
 * up to f32 rounding; exact for one state at weight 1 and for the mean of copies.
 */
import type { GpuState } from '../api.ts';
import { withGpuErrors } from '../gpu/device.ts';
import { PipelineCache, type KernelPipeline } from '../kernels/pipelines.ts';
import { uniformBytes } from '../kernels/uniforms.ts';
import { decayGroup, decayRates } from './cpuMix.ts';
import { OP_ASSIGN, OP_ACCUMULATE, OP_SKIP, linearOps, type MixPlan, type PartPolicy } from './mixSpec.ts';
import { StateMismatchError, layerStateSizes, ssmGrid, type StateShape } from './types.ts';

const WORKGROUP = 256;
const MAX_GROUPS_X = 65535;

type Part = 'ssm' | 'conv' | 'dtSum';

export class GpuStateMixer {
  private readonly linear: KernelPipeline<'mix_linear'>;
  private readonly mean: KernelPipeline<'mix_mean'>;
  private readonly adecay: KernelPipeline<'mix_adecay'>;
  /**
   * −exp(A_log) of every layer: [layers, d_inner, d_state] for Mamba-1, [layers, num_heads] for Mamba-2 (one A
   * per row of the SSM grid, `aGroup` = cols elements share it); only A-decay reads it.
   */
  private readonly a: GPUBuffer;
  /**
   * Small uniform and ops buffers, reused by every mix in the order it asks for them (a buffer of another
   * size or usage is replaced): creating a dozen GPU buffers per mix cost more than the mix itself. Reuse is
   * safe because queue.writeBuffer runs in queue order, after the work of earlier submits.
   */
  private pool: GPUBuffer[] = [];
  private used = 0;
  /** How many consecutive SSM elements share one A: 1 (Mamba-1) or head_dim · state_size (Mamba-2). */
  private readonly aGroup: number;
  private readonly sizes: { ssm: number; conv: number; dtSum: number };

  /** `aLogs`: each layer's A_log ([d_inner, d_state] or, Mamba-2, [num_heads]), from the model's weights. */
  constructor(
    readonly device: GPUDevice,
    readonly shape: StateShape,
    aLogs: Float32Array[],
  ) {
    this.sizes = layerStateSizes(shape);
    const { rows } = ssmGrid(shape);
    const perLayerA = shape.family === 'mamba2' ? rows : this.sizes.ssm;
    if (aLogs.length !== shape.layers || aLogs.some((x) => x.length !== perLayerA)) {
      throw new StateMismatchError('The A_log tensors given to the mixer do not match the state shape.');
    }
    this.aGroup = decayGroup(this.sizes.ssm, rows, perLayerA);
    // Each pass binds a part of every layer at once; a state too large for one binding is refused here, with
    // its size, rather than failing validation mid-mix (a 2.7b Mamba-2 SSM state is ~168 MB).
    const maxBinding = device.limits.maxStorageBufferBindingSize;
    const ssmBytes = 4 * shape.layers * this.sizes.ssm;
    if (ssmBytes > maxBinding) {
      throw new StateMismatchError(
        `This model's SSM state takes ${(ssmBytes / 2 ** 20).toFixed(0)} MiB in one buffer; this GPU binds at most ${(maxBinding / 2 ** 20).toFixed(0)} MiB, so its states cannot be mixed here.`,
      );
    }
    const pipes = PipelineCache.forDevice(device);
    this.linear = pipes.kernel('mix_linear');
    this.mean = pipes.kernel('mix_mean');
    this.adecay = pipes.kernel('mix_adecay');
    const rates = decayRates(aLogs);
    this.a = device.createBuffer({
      label: 'mix A',
      size: 4 * shape.layers * perLayerA,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
    });
    rates.forEach((r, l) => device.queue.writeBuffer(this.a, 4 * l * r.length, r));
  }

  private perLayer(part: Part): number {
    return this.sizes[part];
  }

  private checkBuffers(states: GpuState[], dst: GpuState): void {
    for (const part of ['ssm', 'conv', 'dtSum'] as const) {
      const bytes = 4 * this.shape.layers * this.perLayer(part);
      for (const s of [...states, dst]) {
        if (s[part].size < bytes) {
          throw new StateMismatchError(
            `A state's ${part} buffer holds ${s[part].size} bytes; this model's states need ${bytes}. The state belongs to another model.`,
          );
        }
      }
    }
    if (states.some((s) => s === dst || s.ssm === dst.ssm)) {
      throw new StateMismatchError(
        'The destination of a mix must not be one of its sources; create a new state for it.',
      );
    }
  }

  private buffer(data: ArrayBufferView<ArrayBuffer>, usage: number, label: string): GPUBuffer {
    const size = Math.max(16, data.byteLength);
    let b = this.pool[this.used];
    if (!b || b.size !== size || b.usage !== (usage | GPUBufferUsage.COPY_DST)) {
      b?.destroy();
      b = this.device.createBuffer({ label, size, usage: usage | GPUBufferUsage.COPY_DST });
      this.pool[this.used] = b;
    }
    this.used++;
    this.device.queue.writeBuffer(b, 0, data);
    return b;
  }

  private opsBuffer(ops: number[], weights: number[]): GPUBuffer {
    const raw = new ArrayBuffer(8 * ops.length);
    const u = new Uint32Array(raw);
    const f = new Float32Array(raw);
    ops.forEach((op, l) => {
      u[2 * l] = op;
      f[2 * l + 1] = weights[l]!;
    });
    return this.buffer(new Uint8Array(raw), GPUBufferUsage.STORAGE, 'mix ops');
  }

  private grid(total: number): { x: number; y: number; rowStride: number } {
    const groups = Math.ceil(total / WORKGROUP);
    const x = Math.min(groups, MAX_GROUPS_X);
    return { x, y: Math.ceil(groups / x), rowStride: x * WORKGROUP };
  }

  /** One pass of `k` over `total` elements. */
  private dispatch(
    enc: GPUCommandEncoder,
    k: { kernel: string; pipeline: GPUComputePipeline },
    bind: GPUBindGroup,
    total: number,
  ): void {
    const { x, y } = this.grid(total);
    const pass = enc.beginComputePass({ label: k.kernel });
    pass.setPipeline(k.pipeline);
    pass.setBindGroup(0, bind);
    pass.dispatchWorkgroups(x, y);
    pass.end();
  }

  private uniform(bytes: ArrayBuffer): GPUBuffer {
    return this.buffer(new Uint8Array(bytes), GPUBufferUsage.UNIFORM, 'mix params');
  }

  /** acc ← (acc +) w[l]·src per layer by `ops` (mix_linear.wgsl). */
  private linearStep(
    enc: GPUCommandEncoder,
    acc: GPUBuffer,
    src: GPUBuffer,
    ops: GPUBuffer,
    perLayer: number,
    total: number,
  ) {
    const { rowStride } = this.grid(total);
    const params = this.uniform(uniformBytes('mix_linear', 'params', { perLayer, total, rowStride }));
    const bind = this.linear.bind('mix_linear', { acc, src, ops, params });
    this.dispatch(enc, this.linear, bind, total);
  }

  private linearPass(
    enc: GPUCommandEncoder,
    part: Part,
    srcs: GpuState[],
    dst: GpuState,
    grid: number[][],
  ): void {
    const perLayer = this.perLayer(part);
    const total = perLayer * this.shape.layers;
    const ops = linearOps(grid, srcs.length);
    if (grid.some((_, l) => ops.every((o) => o[l] === OP_SKIP))) {
      // Layers whose weights are all zero must end as zeros: clear first, every other element is assigned.
      enc.clearBuffer(dst[part], 0, 4 * total);
    }
    srcs.forEach((s, i) => {
      const opRow = ops[i]!;
      if (opRow.every((op) => op === OP_SKIP)) return;
      const weights = grid.map((row) => row[i]!);
      this.linearStep(enc, dst[part], s[part], this.opsBuffer(opRow, weights), perLayer, total);
    });
  }

  private meanPass(enc: GPUCommandEncoder, part: Part, srcs: GpuState[], dst: GpuState, scale: number): void {
    const total = this.perLayer(part) * this.shape.layers;
    enc.copyBufferToBuffer(srcs[0]![part], 0, dst[part], 0, 4 * total);
    const { rowStride } = this.grid(total);
    const bytes = uniformBytes('mix_mean', 'params', { total, rowStride, scale });
    for (const s of srcs.slice(1)) {
      const params = this.uniform(bytes);
      const bind = this.mean.bind('mix_mean', { acc: dst[part], src: s[part], base: srcs[0]![part], params });
      this.dispatch(enc, this.mean, bind, total);
    }
  }

  private adecayPass(enc: GPUCommandEncoder, srcs: GpuState[], dst: GpuState, grid: number[][]): void {
    const perLayer = this.perLayer('ssm');
    const total = perLayer * this.shape.layers;
    const first = grid.map((row) => (row[0] === 0 ? OP_SKIP : OP_ASSIGN));
    enc.clearBuffer(dst.ssm, 0, 4 * total);
    const { rowStride } = this.grid(total);
    const weights0 = grid.map((row) => row[0]!);
    if (first.some((op) => op !== OP_SKIP)) {
      this.linearStep(enc, dst.ssm, srcs[0]!.ssm, this.opsBuffer(first, weights0), perLayer, total);
    }
    srcs.slice(1).forEach((s, k) => {
      const weights = grid.map((row) => row[k + 1]!);
      const ops = this.opsBuffer(
        weights.map(() => OP_ACCUMULATE),
        weights,
      );
      const params = this.uniform(
        uniformBytes('mix_adecay', 'params', {
          perLayer,
          total,
          rowStride,
          cols: ssmGrid(this.shape).cols,
          aGroup: this.aGroup,
        }),
      );
      const bind = this.adecay.bind('mix_adecay', {
        acc: dst.ssm,
        h: s.ssm,
        dtSum: s.dtSum,
        a: this.a,
        ops,
        params,
      });
      this.dispatch(enc, this.adecay, bind, total);
    });
  }

  private policyPass(
    enc: GPUCommandEncoder,
    part: Part,
    policy: PartPolicy,
    srcs: GpuState[],
    dst: GpuState,
  ): boolean {
    const bytes = 4 * this.perLayer(part) * this.shape.layers;
    if (policy === 'zero') enc.clearBuffer(dst[part], 0, bytes);
    else if (policy === 'last') enc.copyBufferToBuffer(srcs[srcs.length - 1]![part], 0, dst[part], 0, bytes);
    return policy !== 'mix';
  }

  /**
   * Writes the mix of `srcs` (all of this mixer's shape) into `dst`. Resolves once the work is submitted and
   * its error scopes are clear, without waiting for the GPU: the queue runs it before anything submitted
   * later (score, generate, readState, a buffer's mapAsync), so a rescore right after sees the mix without
   * first waiting for it here.
   */
  async mix(srcs: GpuState[], plan: MixPlan, dst: GpuState): Promise<void> {
    if (srcs.length !== plan.sources)
      throw new StateMismatchError(`The plan is for ${plan.sources} states, not ${srcs.length}.`);
    if (plan.layers !== this.shape.layers)
      throw new StateMismatchError('The plan is for a model with another number of layers.');
    this.checkBuffers(srcs, dst);
    await withGpuErrors(this.device, 'mixing states', async () => {
      this.used = 0;
      const enc = this.device.createCommandEncoder({ label: 'mix states' });
      const linearOrMean = (part: Part) =>
        plan.mode === 'mean'
          ? this.meanPass(enc, part, srcs, dst, plan.meanScale)
          : this.linearPass(enc, part, srcs, dst, plan.grid);
      if (!this.policyPass(enc, 'ssm', plan.ssm, srcs, dst)) {
        if (plan.mode === 'adecay') this.adecayPass(enc, srcs, dst, plan.grid);
        else linearOrMean('ssm');
      }
      if (!this.policyPass(enc, 'dtSum', plan.ssm, srcs, dst)) {
        // Chunks' Σ Δ add up under A-decay; weighted and mean combine it like the state.
        if (plan.mode === 'adecay')
          this.linearPass(
            enc,
            'dtSum',
            srcs,
            dst,
            plan.grid.map((row) => row.map(() => 1)),
          );
        else linearOrMean('dtSum');
      }
      if (!this.policyPass(enc, 'conv', plan.conv, srcs, dst)) linearOrMean('conv');
      this.device.queue.submit([enc.finish()]);
    });
  }

  destroy(): void {
    this.a.destroy();
    for (const b of this.pool) b.destroy();
    this.pool = [];
  }
}
