/**
 * What every engine call shares around the run loop: one call at a time (the working buffers are shared, so
 * a score() issued during generate() waits), a lost device reported as such, token-id checks, the
 * cancellation error and read-back buffers.
 */
import type { GpuDeviceLostError } from './gpu/device.ts';

export function abortError(): Error {
  return new DOMException('The operation was cancelled; the state is unchanged.', 'AbortError');
}

/** `tokens` as u32 ids, refusing any outside 0..vocabSize−1 with its position. */
export function checkTokens(tokens: ArrayLike<number>, vocabSize: number): Uint32Array {
  const out = new Uint32Array(tokens.length);
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (!Number.isInteger(t) || t < 0 || t >= vocabSize) {
      throw new RangeError(
        `Token id ${t} at position ${i} is outside this model's vocabulary (0..${vocabSize - 1}).`,
      );
    }
    out[i] = t;
  }
  return out;
}

/** Runs calls one after another; after a device loss every call (and every failure) reports the loss. */
export class CallQueue {
  private tail: Promise<unknown> = Promise.resolve();
  private lostError?: GpuDeviceLostError;

  constructor(
    lost: Promise<GpuDeviceLostError>,
    private readonly destroyed: () => boolean,
  ) {
    void lost.then((e) => {
      this.lostError = e;
    });
  }

  run<T>(fn: () => Promise<T>): Promise<T> {
    const run = async () => {
      if (this.destroyed()) throw new Error('The engine was destroyed; load the model again.');
      if (this.lostError) throw this.lostError;
      try {
        return await fn();
      } catch (e) {
        if (this.lostError) throw this.lostError;
        throw e;
      }
    };
    const p = this.tail.then(run, run);
    this.tail = p.catch(() => undefined);
    return p;
  }
}

/** A buffer to map and read `bytes` back from the GPU. */
export function stagingBuffer(device: GPUDevice, bytes: number): GPUBuffer {
  return device.createBuffer({
    label: 'readback',
    size: Math.max(16, bytes),
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
}
