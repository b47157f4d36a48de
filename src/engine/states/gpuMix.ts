/**
 * Mixing on the GPU, directly on the buffers of `GpuState`s (src/engine/api.ts), by the plan of mixSpec.ts:
 * mix_linear (weighted sums, Σ Δ), mix_mean (the exact mean) and mix_adecay (ordered chunks). The result is
 * written into a destination state that the engine then reads from (generate, score). Equal to mixStatesCpu
 * up to f32 rounding; exact for one state at weight 1 and for the mean of copies.
 */
import type { GpuState } from '../api.ts';
import { withGpuErrors } from '../gpu/device.ts';
import { shaderSources } from '../shaders.gen.ts';
import { decayRates } from './cpuMix.ts';
import { OP_ASSIGN, OP_ACCUMULATE, OP_SKIP, linearOps, type MixPlan, type PartPolicy } from './mixSpec.ts';
import { StateMismatchError, type StateShape } from './types.ts';

const WORKGROUP = 256;
const MAX_GROUPS_X = 65535;

type Part = 'ssm' | 'conv' | 'dtSum';

export class GpuStateMixer {
  private readonly linear: GPUComputePipeline;
  private readonly mean: GPUComputePipeline;
  private readonly adecay: GPUComputePipeline;
  /** −exp(A_log) of every layer, [layers, d_inner, d_state]; only A-decay reads it. */
  private readonly a: GPUBuffer;
  /**
   * Small uniform and ops buffers, reused by every mix in the order it asks for them (a buffer of another
   * size or usage is replaced): creating a dozen GPU buffers per mix cost more than the mix itself. Reuse is
   * safe because queue.writeBuffer runs in queue order, after the work of earlier submits.
   */
  private pool: GPUBuffer[] = [];
  private used = 0;

  /** `aLogs`: each layer's A_log ([d_inner, d_state]), from the model's weights. */
  constructor(
    readonly device: GPUDevice,
    readonly shape: StateShape,
    aLogs: Float32Array[],
  ) {
    if (aLogs.length !== shape.layers || aLogs.some((x) => x.length !== shape.dInner * shape.dState)) {
      throw new StateMismatchError('The A_log tensors given to the mixer do not match the state shape.');
    }
    const make = (name: string) =>
      device.createComputePipeline({
        label: name,
        layout: 'auto',
        compute: {
          module: device.createShaderModule({ label: name, code: shaderSources[name]! }),
          entryPoint: 'main',
        },
      });
    this.linear = make('mix_linear');
    this.mean = make('mix_mean');
    this.adecay = make('mix_adecay');
    const rates = decayRates(aLogs);
    this.a = device.createBuffer({
      label: 'mix A',
      size: 4 * shape.layers * shape.dInner * shape.dState,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
    });
    rates.forEach((r, l) => device.queue.writeBuffer(this.a, 4 * l * r.length, r));
  }

  private perLayer(part: Part): number {
    const s = this.shape;
    return part === 'ssm' ? s.dInner * s.dState : part === 'conv' ? s.dInner * s.convWidth : s.dInner;
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

  private dispatch(
    enc: GPUCommandEncoder,
    pipeline: GPUComputePipeline,
    buffers: GPUBuffer[],
    params: ArrayBuffer,
    total: number,
  ): void {
    const uniform = this.buffer(new Uint8Array(params), GPUBufferUsage.UNIFORM, 'mix params');
    const entries = [...buffers, uniform].map((buffer, binding) => ({ binding, resource: { buffer } }));
    const bind = this.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
    const { x, y } = this.grid(total);
    const pass = enc.beginComputePass({ label: pipeline.label });
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bind);
    pass.dispatchWorkgroups(x, y);
    pass.end();
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
    const { rowStride } = this.grid(total);
    srcs.forEach((s, i) => {
      const opRow = ops[i]!;
      if (opRow.every((op) => op === OP_SKIP)) return;
      const weights = grid.map((row) => row[i]!);
      this.dispatch(
        enc,
        this.linear,
        [dst[part], s[part], this.opsBuffer(opRow, weights)],
        u32s(perLayer, total, rowStride, 0),
        total,
      );
    });
  }

  private meanPass(enc: GPUCommandEncoder, part: Part, srcs: GpuState[], dst: GpuState, scale: number): void {
    const total = this.perLayer(part) * this.shape.layers;
    enc.copyBufferToBuffer(srcs[0]![part], 0, dst[part], 0, 4 * total);
    const { rowStride } = this.grid(total);
    const params = new ArrayBuffer(16);
    new Uint32Array(params, 0, 2).set([total, rowStride]);
    new Float32Array(params, 8, 1)[0] = scale;
    for (const s of srcs.slice(1))
      this.dispatch(enc, this.mean, [dst[part], s[part], srcs[0]![part]], params, total);
  }

  private adecayPass(enc: GPUCommandEncoder, srcs: GpuState[], dst: GpuState, grid: number[][]): void {
    const perLayer = this.perLayer('ssm');
    const total = perLayer * this.shape.layers;
    const first = grid.map((row) => (row[0] === 0 ? OP_SKIP : OP_ASSIGN));
    enc.clearBuffer(dst.ssm, 0, 4 * total);
    const { rowStride } = this.grid(total);
    const weights0 = grid.map((row) => row[0]!);
    if (first.some((op) => op !== OP_SKIP)) {
      this.dispatch(
        enc,
        this.linear,
        [dst.ssm, srcs[0]!.ssm, this.opsBuffer(first, weights0)],
        u32s(perLayer, total, rowStride, 0),
        total,
      );
    }
    srcs.slice(1).forEach((s, k) => {
      const weights = grid.map((row) => row[k + 1]!);
      const ops = this.opsBuffer(
        weights.map(() => OP_ACCUMULATE),
        weights,
      );
      this.dispatch(
        enc,
        this.adecay,
        [dst.ssm, s.ssm, s.dtSum, this.a, ops],
        u32s(perLayer, total, rowStride, this.shape.dState),
        total,
      );
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

function u32s(...values: number[]): ArrayBuffer {
  return Uint32Array.from(values).buffer;
}
