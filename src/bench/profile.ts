/**
 * Per-kernel GPU time from timestamp queries: each of the engine's prebuilt dispatches is encoded in its own
 * compute pass with `timestampWrites`, so the begin/end pair brackets exactly that kernel. Runs outside the
 * engine's calls, on the buffers the previous call left (the caller first runs a decode step or a prefill of
 * `t` tokens so the engine's `dims` uniform holds that length); the engine's working state is overwritten,
 * which is harmless because every engine call copies the caller's state in first.
 */
import type { Dispatch } from '../engine/kernels/pipelines.ts';
import { median } from './stats.ts';

export interface KernelTime {
  /** The dispatch label without its layer prefix (`layer7.in_proj.gemv` → `in_proj.gemv`). */
  kernel: string;
  calls: number;
  /** Median over runs of the summed time of this kernel's calls. */
  ms: number;
  share: number;
}

export interface PhaseProfile {
  phase: string;
  tokens: number;
  dispatches: number;
  /** Sum of all kernels' times: the GPU's own time for the phase, without submit/dispatch gaps. */
  gpuMs: number;
  kernels: KernelTime[];
}

const MAX_QUERIES = 4096;

export function kernelName(label: string): string {
  return label.replace(/^layer\d+\./, '');
}

/** One timed run: nanoseconds of each dispatch, in order. */
async function timeEach(device: GPUDevice, steps: readonly Dispatch[], t: number): Promise<number[]> {
  const out: number[] = [];
  for (let from = 0; from < steps.length; from += MAX_QUERIES / 2) {
    const batch = steps.slice(from, from + MAX_QUERIES / 2);
    const count = 2 * batch.length;
    const querySet = device.createQuerySet({ type: 'timestamp', count });
    const resolve = device.createBuffer({
      size: count * 8,
      usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
    });
    const read = device.createBuffer({
      size: count * 8,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    try {
      const enc = device.createCommandEncoder({ label: 'profile' });
      batch.forEach((s, i) => {
        const [x, y, z] = s.size(t);
        const pass = enc.beginComputePass({
          label: s.label,
          timestampWrites: { querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 },
        });
        if (x > 0 && y > 0 && z > 0) {
          pass.setPipeline(s.pipeline);
          pass.setBindGroup(0, s.bindGroup);
          pass.dispatchWorkgroups(x, y, z);
        }
        pass.end();
      });
      enc.resolveQuerySet(querySet, 0, count, resolve, 0);
      enc.copyBufferToBuffer(resolve, 0, read, 0, count * 8);
      device.queue.submit([enc.finish()]);
      await read.mapAsync(GPUMapMode.READ);
      const ts = new BigUint64Array(read.getMappedRange().slice(0));
      for (let i = 0; i < batch.length; i++) {
        const d = ts[2 * i + 1]! - ts[2 * i]!;
        // A counter that went backwards (some drivers reset between passes) is reported as 0, not negative.
        out.push(d > 0n ? Number(d) : 0);
      }
    } finally {
      querySet.destroy();
      resolve.destroy();
      read.destroy();
    }
  }
  return out;
}

/**
 * Times every dispatch `runs` times (after one warm-up) and groups the medians by kernel. Dispatches that
 * get no workgroups at `t` tokens (alternatives the engine picks between by chunk length) are left out.
 */
export async function profilePhase(
  device: GPUDevice,
  phase: string,
  allSteps: readonly Dispatch[],
  t: number,
  runs = 3,
): Promise<PhaseProfile> {
  const steps = nonEmpty(allSteps, t);
  await timeEach(device, steps, t);
  const all: number[][] = [];
  for (let r = 0; r < runs; r++) all.push(await timeEach(device, steps, t));
  const byKernel = new Map<string, { calls: number; perRun: number[] }>();
  steps.forEach((s, i) => {
    const k = kernelName(s.label);
    const e = byKernel.get(k) ?? { calls: 0, perRun: new Array<number>(runs).fill(0) };
    e.calls++;
    for (let r = 0; r < runs; r++) e.perRun[r]! += all[r]![i]!;
    byKernel.set(k, e);
  });
  const kernels = [...byKernel].map(([kernel, e]) => ({
    kernel,
    calls: e.calls,
    ms: median(e.perRun) / 1e6,
    share: 0,
  }));
  const gpuMs = kernels.reduce((a, k) => a + k.ms, 0);
  for (const k of kernels) k.share = gpuMs > 0 ? k.ms / gpuMs : 0;
  kernels.sort((a, b) => b.ms - a.ms);
  return { phase, tokens: t, dispatches: steps.length, gpuMs, kernels };
}

/** The dispatches that get workgroups at `t` tokens (the ones encodeDispatches issues). */
export function nonEmpty(steps: readonly Dispatch[], t: number): Dispatch[] {
  return steps.filter((s) => s.size(t).every((n) => n > 0));
}
