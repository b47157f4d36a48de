/** Helpers for GPU tests on a real adapter: error scopes that fail the test, and small host utilities. */
import { expect } from 'vitest';

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
