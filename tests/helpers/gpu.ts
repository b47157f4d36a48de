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

/** A deterministic PRNG (mulberry32) for random test weights and inputs. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
