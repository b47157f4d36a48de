/** Helpers for GPU tests on a real adapter: error scopes that fail the test, and small host utilities. */
import { expect } from 'vitest';
import { stagingBuffer } from '../../src/engine/calls.ts';

/** Runs `fn` inside validation and out-of-memory scopes and fails on any GPU error. */
export async function withScope<T>(device: GPUDevice, fn: () => Promise<T>): Promise<T> {
  device.pushErrorScope('out-of-memory');
  device.pushErrorScope('validation');
  const r = await fn();
  const validation = await device.popErrorScope();
  const oom = await device.popErrorScope();
  expect(validation?.message).toBeUndefined();
  expect(oom?.message).toBeUndefined();
  return r;
}

/**
 * A storage buffer holding `data` (and `extra` more bytes), rounded up to 16 bytes, copyable both ways so a test
 * can read it back.
 */
export function storageBuffer(device: GPUDevice, data: ArrayBufferView, extra = 0): GPUBuffer {
  const b = device.createBuffer({
    size: Math.max(16, Math.ceil((data.byteLength + extra) / 16) * 16),
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC,
  });
  device.queue.writeBuffer(b, 0, data.buffer as ArrayBuffer, data.byteOffset, data.byteLength);
  return b;
}

/** The first `bytes` of buffer `b`, through a staging buffer that is destroyed afterwards. */
export async function readBuffer(device: GPUDevice, b: GPUBuffer, bytes: number): Promise<ArrayBuffer> {
  const staging = stagingBuffer(device, bytes);
  const enc = device.createCommandEncoder();
  enc.copyBufferToBuffer(b, 0, staging, 0, bytes);
  device.queue.submit([enc.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  const out = staging.getMappedRange(0, bytes).slice(0);
  staging.destroy();
  return out;
}

export function argmaxRows(x: ArrayLike<number>, width: number): number[] {
  const out: number[] = [];
  for (let r = 0; r * width < x.length; r++) {
    let best = 0;
    for (let i = 1; i < width; i++) if (x[r * width + i]! > x[r * width + best]!) best = i;
    out.push(best);
  }
  return out;
}

/** A deterministic PRNG for random test weights and inputs: the studies' mulberry32. */
export { mulberry32 as rng } from '../../src/studies/random.ts';
