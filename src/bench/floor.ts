/**
 * The dispatch floor: how long the adapter takes to run N dispatches that do nothing, encoded the way the
 * engine encodes a decode token (one compute pass, setPipeline + setBindGroup + dispatch each, one submit,
 * wait for completion). With N = the engine's dispatches per decode token this is the time per token that
 * no kernel tuning can remove, only fewer dispatches (fusion): it tells dispatch overhead from bandwidth.
 * The kernel is fill_random with zero words (every invocation returns at once).
 */
import { GpuRandomFill } from '../engine/randomWeights.ts';
import { median, timeRuns } from './stats.ts';

export interface DispatchFloor {
  dispatches: number;
  /** Median milliseconds for one submit of `dispatches` empty dispatches, waited for. */
  ms: number;
  /** Median milliseconds for a submit with a single empty dispatch (the submit + wait round trip). */
  oneMs: number;
  /** (ms − oneMs) / (dispatches − 1), in microseconds. */
  perDispatchUs: number;
}

export async function measureDispatchFloor(
  device: GPUDevice,
  dispatches: number,
  reps = 30,
): Promise<DispatchFloor> {
  const target = device.createBuffer({ size: 16, usage: GPUBufferUsage.STORAGE });
  const empty = new GpuRandomFill(device).emptyDispatches(target);
  const encode = empty.encode;
  try {
    const run = (n: number) => async () => {
      const enc = device.createCommandEncoder({ label: 'dispatch floor' });
      const pass = enc.beginComputePass();
      for (let i = 0; i < n; i++) encode(pass);
      pass.end();
      device.queue.submit([enc.finish()]);
      await device.queue.onSubmittedWorkDone();
    };
    const ms = median(await timeRuns(3, reps, run(dispatches)));
    const oneMs = median(await timeRuns(3, reps, run(1)));
    return {
      dispatches,
      ms,
      oneMs,
      perDispatchUs: dispatches > 1 ? ((ms - oneMs) / (dispatches - 1)) * 1000 : NaN,
    };
  } finally {
    empty.destroy();
    target.destroy();
  }
}
