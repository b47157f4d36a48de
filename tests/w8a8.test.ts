/**
 * The host twin of the W8A8 kernels (src/engine/w8a8.ts): rounding halfway cases to even as WGSL's round()
 * does, per-row int8 quantisation (values worked out by hand), the padded byte layout the GPU reads, and the
 * W8A8 product against float64 sums of the dequantised integers.
 */
import { describe, expect, it } from 'vitest';
import { matmulW8A8, packRowsI8, paddedRowBytes, quantizeRowsI8, roundHalfEven } from '../src/engine/w8a8.ts';
import { rng } from './helpers/gpu.ts';

describe('W8A8 on the host', () => {
  it('rounds halfway cases to the even integer, others to the nearest', () => {
    expect([2.5, 3.5, -2.5, -3.5, 0.5, -0.5].map(roundHalfEven)).toEqual([2, 4, -2, -4, 0, -0]);
    expect([2.4, 2.6, -2.6, 126.51].map(roundHalfEven)).toEqual([2, 3, -3, 127]);
  });

  it('quantises each row with scale max |row| / 127', () => {
    // Row 0: max 127 → scale 1, so the values round as they are (ties to even). Row 1: all zero → scale 0.
    // Row 2: max 2.54 → scale 0.02: 2.54 → 127, 1.0 → 50, -2.54 → -127.
    const m = quantizeRowsI8([127, 2.5, -3.5, 0.5, 0, 0, 0, 0, 2.54, 1.0, -2.54, 0.01], 3, 4);
    expect(Array.from(m.q.subarray(0, 8))).toEqual([127, 2, -4, 0, 0, 0, 0, 0]);
    expect(m.scale[0]).toBe(1);
    expect(m.scale[1]).toBe(0);
    expect(m.scale[2]).toBeCloseTo(0.02, 9);
    expect(m.q[8]).toBe(127);
    expect(m.q[9]).toBe(50); // 1.0 / 0.02
    expect(m.q[10]).toBe(-127);
    // 0.01 / 0.02 is a tie only in exact arithmetic (f32 steps decide it); like every value, it lands within
    // half a step of the original.
    const data = [2.54, 1.0, -2.54, 0.01];
    data.forEach((v, i) =>
      expect(Math.abs(m.q[8 + i]! * m.scale[2]! - v)).toBeLessThanOrEqual(m.scale[2]! / 2 + 1e-7),
    );
  });

  it('packs rows padded to 16 bytes, four two-complement bytes per word, low byte first', () => {
    expect([1, 16, 17, 37].map(paddedRowBytes)).toEqual([16, 16, 32, 48]);
    const words = packRowsI8({
      rows: 2,
      cols: 5,
      q: Int8Array.from([1, -1, 2, -2, 3, 4, 5, 6, 7, -128]),
      scale: new Float32Array(2),
    });
    expect(words.length).toBe(8); // 2 rows x 16 bytes
    expect(words[0]).toBe(0xfe02ff01);
    expect(words[1]).toBe(0x03);
    expect(words[2]).toBe(0);
    expect(words[4]).toBe(0x07060504);
    expect(words[5]).toBe(0x80);
  });

  it('multiplies as float64 sums of the dequantised integers', () => {
    const next = rng(3);
    const [T, N, K] = [3, 4, 37];
    const x = Float64Array.from({ length: T * K }, () => next() * 2 - 1);
    const w = quantizeRowsI8(
      Float64Array.from({ length: N * K }, () => next() * 0.2 - 0.1),
      N,
      K,
    );
    const xq = quantizeRowsI8(x, T, K);
    const y = matmulW8A8(x, T, w);
    for (let t = 0; t < T; t++) {
      for (let n = 0; n < N; n++) {
        let want = 0;
        for (let k = 0; k < K; k++) want += xq.q[t * K + k]! * xq.scale[t]! * (w.q[n * K + k]! * w.scale[n]!);
        expect(y[t * N + n]).toBeCloseTo(want, 12);
      }
    }
  });
});
