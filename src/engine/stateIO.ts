/**
 * Recurrent states on the GPU: making, clearing and copying a GpuState, reading it to and writing it from
 * the host, and copying it to and from the engine's per-layer working state (api.ts gives the layout). Both
 * families keep the same three parts per layer, in sizes of their own (`stateGeometry`): Mamba-1 per
 * channel, Mamba-2 per head.
 */
import type { MambaConfig } from '../model/config.ts';
import { isMamba2Config, type AnyMambaConfig } from '../model/family.ts';
import type { Mamba2Config } from '../model/mamba2Config.ts';
import type { GpuState } from './api.ts';
import { layerStateLayout } from './kernels/layout.ts';
import { writeArray } from './placement.ts';
import type { MambaState } from './weights.ts';

/** Floats of each part of one layer's state, and where each lies in the layer's working-state buffer. */
export interface StateGeometry {
  layers: number;
  ssm: number;
  conv: number;
  dtSum: number;
  work: { ssm: number; dtSum: number; conv: number; total: number };
}

/** Mamba-2's working state per layer: ssm [H, P, N] at 0, Σ Δ [H], then conv [convDim, d_conv−1]. */
export function mamba2StateLayout(c: Mamba2Config): StateGeometry['work'] {
  const ssm = c.numHeads * c.headDim * c.stateSize;
  const dtSum = c.numHeads;
  const conv = c.convDim * (c.convKernel - 1);
  return { ssm: 0, dtSum: ssm, conv: ssm + dtSum, total: ssm + dtSum + conv };
}

export function stateGeometry(c: AnyMambaConfig): StateGeometry {
  if (isMamba2Config(c)) {
    const work = mamba2StateLayout(c);
    return {
      layers: c.numLayers,
      ssm: work.dtSum,
      dtSum: c.numHeads,
      conv: work.total - work.conv,
      work,
    };
  }
  const m: MambaConfig = c;
  const { intermediateSize: di, stateSize: ds, convKernel: dc } = m;
  return { layers: m.numLayers, ssm: di * ds, conv: di * (dc - 1), dtSum: di, work: layerStateLayout(m) };
}

/**
 * The shapes of one layer's state tensors as files and the request/result protocol write them: Mamba-1 ssm
 * [d_inner, d_state], conv [d_inner, d_conv−1], Σ Δ [d_inner]; Mamba-2 ssm [num_heads, head_dim, state_size],
 * conv [convDim, d_conv−1], Σ Δ [num_heads].
 */
export function layerStateShapes(c: AnyMambaConfig): { ssm: number[]; conv: number[]; dtSum: number[] } {
  const w = c.convKernel - 1;
  if (isMamba2Config(c)) {
    return { ssm: [c.numHeads, c.headDim, c.stateSize], conv: [c.convDim, w], dtSum: [c.numHeads] };
  }
  const di = c.intermediateSize;
  return { ssm: [di, c.stateSize], conv: [di, w], dtSum: [di] };
}

/** The three parts in the order of a GpuState's buffers, with their per-layer sizes. */
function parts(g: StateGeometry, s: GpuState) {
  return [
    [s.ssm, g.ssm, g.work.ssm],
    [s.conv, g.conv, g.work.conv],
    [s.dtSum, g.dtSum, g.work.dtSum],
  ] as const;
}

export function resetState(device: GPUDevice, state: GpuState): void {
  const enc = device.createCommandEncoder({ label: 'resetState' });
  enc.clearBuffer(state.ssm);
  enc.clearBuffer(state.conv);
  enc.clearBuffer(state.dtSum);
  device.queue.submit([enc.finish()]);
}

/** A zeroed state with the usage the engine needs (STORAGE | COPY_SRC | COPY_DST). */
export function createState(device: GPUDevice, g: StateGeometry): GpuState {
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
  const mk = (label: string, n: number) =>
    device.createBuffer({ label, size: Math.max(16, g.layers * n * 4), usage });
  const ssm = mk('state.ssm', g.ssm);
  const conv = mk('state.conv', g.conv);
  const dtSum = mk('state.dtSum', g.dtSum);
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
  resetState(device, s);
  return s;
}

export function copyState(device: GPUDevice, dst: GpuState, src: GpuState): void {
  const enc = device.createCommandEncoder({ label: 'copyState' });
  enc.copyBufferToBuffer(src.ssm, 0, dst.ssm, 0, src.ssm.size);
  enc.copyBufferToBuffer(src.conv, 0, dst.conv, 0, src.conv.size);
  enc.copyBufferToBuffer(src.dtSum, 0, dst.dtSum, 0, src.dtSum.size);
  device.queue.submit([enc.finish()]);
}

export async function readState(device: GPUDevice, g: StateGeometry, state: GpuState): Promise<MambaState> {
  const enc = device.createCommandEncoder({ label: 'readState' });
  const staging = parts(g, state).map(([src, n]) => {
    const bytes = g.layers * n * 4;
    const b = device.createBuffer({
      size: Math.max(16, bytes),
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    if (bytes > 0) enc.copyBufferToBuffer(src, 0, b, 0, bytes);
    return b;
  });
  device.queue.submit([enc.finish()]);
  const host = await Promise.all(
    staging.map(async (b, i) => {
      await b.mapAsync(GPUMapMode.READ);
      const v = new Float32Array(b.getMappedRange(0, g.layers * [g.ssm, g.conv, g.dtSum][i]! * 4).slice(0));
      b.destroy();
      return v;
    }),
  );
  const [ssm, conv, dtSum] = host as [Float32Array, Float32Array, Float32Array];
  return {
    layers: Array.from({ length: g.layers }, (_, l) => ({
      ssm: ssm.slice(l * g.ssm, (l + 1) * g.ssm),
      conv: conv.slice(l * g.conv, (l + 1) * g.conv),
      dtSum: dtSum.slice(l * g.dtSum, (l + 1) * g.dtSum),
    })),
  };
}

export function writeState(q: GPUQueue, g: StateGeometry, state: GpuState, host: MambaState): void {
  if (host.layers.length !== g.layers)
    throw new RangeError(`writeState: ${host.layers.length} layers, model has ${g.layers}.`);
  host.layers.forEach((ls, l) => {
    if (ls.ssm.length !== g.ssm || ls.conv.length !== g.conv || ls.dtSum.length !== g.dtSum) {
      throw new RangeError(`writeState: layer ${l} has the wrong sizes for this model.`);
    }
    writeArray(q, state.ssm, l * g.ssm * 4, ls.ssm);
    if (g.conv > 0) writeArray(q, state.conv, l * g.conv * 4, ls.conv);
    writeArray(q, state.dtSum, l * g.dtSum * 4, ls.dtSum);
  });
}

/** Copies between a caller's GpuState and the per-layer working state `work` (toWork: into the engine). */
export function encodeStateCopy(
  enc: GPUCommandEncoder,
  g: StateGeometry,
  work: readonly GPUBuffer[],
  state: GpuState,
  toWork: boolean,
): void {
  work.forEach((w, l) => {
    for (const [buf, n, woff] of parts(g, state)) {
      if (n === 0) continue;
      if (toWork) enc.copyBufferToBuffer(buf, l * n * 4, w, woff * 4, n * 4);
      else enc.copyBufferToBuffer(w, woff * 4, buf, l * n * 4, n * 4);
    }
  });
}
