/**
 * Recurrent states on the GPU: making, clearing and copying a GpuState, reading it to and writing it from
 * the host, and copying it to and from the engine's per-layer working state (api.ts gives the layout).
 */
import type { MambaConfig } from '../model/config.ts';
import type { GpuState } from './api.ts';
import { layerStateLayout } from './kernels/layout.ts';
import { writeArray } from './placement.ts';
import type { MambaState } from './weights.ts';

/** Floats of each GpuState buffer for `config`, in the order ssm, conv, dtSum. */
function stateSizes(c: MambaConfig): [number, number, number] {
  const { numLayers: L, intermediateSize: di, stateSize: ds, convKernel: dc } = c;
  return [L * di * ds, L * di * (dc - 1), L * di];
}

export function resetState(device: GPUDevice, state: GpuState): void {
  const enc = device.createCommandEncoder({ label: 'resetState' });
  enc.clearBuffer(state.ssm);
  enc.clearBuffer(state.conv);
  enc.clearBuffer(state.dtSum);
  device.queue.submit([enc.finish()]);
}

/** A zeroed state with the usage the engine needs (STORAGE | COPY_SRC | COPY_DST). */
export function createState(device: GPUDevice, c: MambaConfig): GpuState {
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
  const mk = (label: string, n: number) => device.createBuffer({ label, size: Math.max(16, n * 4), usage });
  const [nSsm, nConv, nDt] = stateSizes(c);
  const ssm = mk('state.ssm', nSsm);
  const conv = mk('state.conv', nConv);
  const dtSum = mk('state.dtSum', nDt);
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

export async function readState(device: GPUDevice, c: MambaConfig, state: GpuState): Promise<MambaState> {
  const { numLayers: L, intermediateSize: di, stateSize: ds, convKernel: dc } = c;
  const sizes = stateSizes(c);
  const srcs = [state.ssm, state.conv, state.dtSum];
  const enc = device.createCommandEncoder({ label: 'readState' });
  const staging = sizes.map((n, i) => {
    const b = device.createBuffer({
      size: Math.max(16, n * 4),
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    if (n > 0) enc.copyBufferToBuffer(srcs[i]!, 0, b, 0, n * 4);
    return b;
  });
  device.queue.submit([enc.finish()]);
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
}

export function writeState(q: GPUQueue, c: MambaConfig, state: GpuState, host: MambaState): void {
  const { numLayers: L, intermediateSize: di, stateSize: ds, convKernel: dc } = c;
  if (host.layers.length !== L)
    throw new RangeError(`writeState: ${host.layers.length} layers, model has ${L}.`);
  host.layers.forEach((ls, l) => {
    if (ls.ssm.length !== di * ds || ls.conv.length !== di * (dc - 1) || ls.dtSum.length !== di) {
      throw new RangeError(`writeState: layer ${l} has the wrong sizes for this model.`);
    }
    writeArray(q, state.ssm, l * di * ds * 4, ls.ssm);
    if (dc > 1) writeArray(q, state.conv, l * di * (dc - 1) * 4, ls.conv);
    writeArray(q, state.dtSum, l * di * 4, ls.dtSum);
  });
}

/** Copies between a caller's GpuState and the per-layer working state `work` (toWork: into the engine). */
export function encodeStateCopy(
  enc: GPUCommandEncoder,
  c: MambaConfig,
  work: readonly GPUBuffer[],
  state: GpuState,
  toWork: boolean,
): void {
  const { intermediateSize: di, stateSize: ds, convKernel: dc } = c;
  const sl = layerStateLayout(c);
  work.forEach((w, l) => {
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
