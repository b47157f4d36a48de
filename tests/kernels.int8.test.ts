/**
 * The int8 weight path (src/engine/gpu/int8.ts, shaders/include/int8.wgsl): quantisation round-trip
 * properties on the host, then every kernel that reads int8 weights (software GEMM and GEMV, the cooperative
 * GEMVs, the tiled prefill GEMM, the fused decode GEMV) on a real adapter against a float64 CPU product over
 * the same dequantised weights (q · scale). That leaves f32 accumulation as the only difference: 1e-5 relative,
 * the tolerance of the f32 and f16 kernel tests. Per-channel scales and groups of 16 and 32 along K; K odd
 * (no 16-weight loads), and K a multiple of 16 (the vectorised paths); the matrix split in two row parts.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import type { EngineDevice } from '../src/engine/gpu/device.ts';
import {
  dequantizeInt8,
  int8Groups,
  int8PartWords,
  int8RowWords,
  packInt8,
  quantizeInt8,
} from '../src/engine/gpu/int8.ts';
import { openNodeDevice } from '../src/engine/gpu/node.ts';
import { packWeights, planRowParts } from '../src/engine/gpu/weightMatrix.ts';
import { PipelineCache } from '../src/engine/kernels/pipelines.ts';
import { relMaxDiff } from './helpers/fixtures.ts';
import { readBuffer, rng, storageBuffer, withScope } from './helpers/gpu.ts';

describe('int8 quantisation (host)', () => {
  const matrix = fc
    .record({ rows: fc.integer({ min: 1, max: 6 }), cols: fc.integer({ min: 1, max: 70 }) })
    .chain(({ rows, cols }) =>
      fc.record({
        rows: fc.constant(rows),
        cols: fc.constant(cols),
        group: fc.constantFrom(0, 16, 32),
        data: fc.float32Array({
          minLength: rows * cols,
          maxLength: rows * cols,
          noNaN: true,
          noDefaultInfinity: true,
          min: -1e3,
          max: 1e3,
        }),
      }),
    );

  it('keeps every weight within half a step of its group scale, and the largest of each group at ±127', () => {
    fc.assert(
      fc.property(matrix, ({ rows, cols, group, data: raw }) => {
        // Magnitudes below 127 × the smallest f32 have no nonzero scale (int8.ts): they quantise to 0.
        const data = raw.map((v) => (Math.abs(v) < 1e-30 ? 0 : v));
        const m = quantizeInt8(data, rows, cols, group);
        const back = dequantizeInt8(m, rows, cols, group);
        const groups = int8Groups(cols, group);
        for (let r = 0; r < rows; r++) {
          for (let k = 0; k < cols; k++) {
            const g = group === 0 ? 0 : Math.floor(k / group);
            const s = m.scales[r * groups + g]!;
            const i = r * cols + k;
            expect(Math.abs(m.q[i]!)).toBeLessThanOrEqual(127);
            // Half a step, plus the f32 rounding of the scale and of the product.
            expect(Math.abs(back[i]! - data[i]!)).toBeLessThanOrEqual(
              0.5 * s * (1 + 1e-6) + 1e-6 * Math.abs(data[i]!),
            );
          }
          for (let g = 0; g < groups; g++) {
            const width = group === 0 ? cols : group;
            const qs = Array.from(
              m.q.subarray(r * cols + g * width, r * cols + Math.min(cols, (g + 1) * width)),
            );
            const peak = Math.max(...qs.map(Math.abs));
            expect(peak).toBe(m.scales[r * groups + g] === 0 ? 0 : 127);
          }
        }
      }),
      { numRuns: 200 },
    );
  });

  it('is exact on weights that are already int8 multiples of a power-of-two scale, and 0 stays 0', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: -6, max: 6 }),
        fc.integer({ min: 0, max: 1000 }),
        (rows, cols, e, seed) => {
          const next = rng(seed);
          const s = 2 ** e;
          const data = Float32Array.from({ length: rows * cols }, (_, i) =>
            // Each row reaches ±127 once, so max/127 is the scale exactly.
            i % cols === 0 ? 127 * s : Math.round(next() * 254 - 127) * s + 0,
          );
          data[data.length - 1] = 0;
          expect(dequantizeInt8(quantizeInt8(data, rows, cols, 0), rows, cols, 0)).toEqual(data);
        },
      ),
    );
  });

  it('packs four values per word, low byte first, rows padded to whole words, scales after', () => {
    const q = Int8Array.from([1, -1, 127, -127, 5, /* row 1 */ -2, 3, 0, 0, -128 + 1]);
    const scales = Float32Array.from([0.5, 0.25]);
    const words = packInt8({ q, scales }, 2, 5, 0);
    expect(words.length).toBe(int8PartWords(2, 5, 0));
    expect(int8RowWords(5)).toBe(2);
    expect(words[0]).toBe((0x01 | (0xff << 8) | (0x7f << 16) | (0x81 << 24)) >>> 0);
    expect(words[1]).toBe(0x05);
    expect(words[2]).toBe((0xfe | (0x03 << 8)) >>> 0);
    expect(words[3]).toBe(0x81);
    expect(new Float32Array(words.buffer, 16, 2)).toEqual(scales);
  });

  it('an all-zero group gets scale 0 and values 0 (no division by zero)', () => {
    const m = quantizeInt8(new Float32Array(40), 2, 20, 16);
    expect(Array.from(m.scales)).toEqual([0, 0, 0, 0]);
    expect(m.q.every((v) => v === 0)).toBe(true);
  });

  it('refuses group sizes the kernels cannot take', () => {
    expect(() => quantizeInt8(new Float32Array(8), 1, 8, 8)).toThrow(/multiple of 16/);
    expect(() => quantizeInt8(new Float32Array(8), 1, 8, -16)).toThrow(/multiple of 16/);
  });
});

let dev: EngineDevice;
let pipes: PipelineCache;
beforeAll(async () => {
  dev = await openNodeDevice();
  pipes = PipelineCache.forDevice(dev.device);
});

function storage(data: ArrayBufferView): GPUBuffer {
  return storageBuffer(dev.device, data);
}

function uniform(words: number[]): GPUBuffer {
  const b = dev.device.createBuffer({
    size: 4 * words.length,
    usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
  });
  dev.device.queue.writeBuffer(b, 0, new Uint32Array(words));
  return b;
}

async function read(b: GPUBuffer, bytes: number): Promise<Float32Array> {
  return new Float32Array(await readBuffer(dev.device, b, bytes));
}

const randn = (n: number, next: () => number) => Float32Array.from({ length: n }, () => next() * 2 - 1);

type Kernel =
  'gemm_reg' | 'gemv' | 'gemv_coop' | 'gemv_subgroup' | 'gemm_tiled' | 'gemv_fused' | 'gemv_fused_sg';

interface Case {
  T: number;
  N: number;
  K: number;
  group: number;
}

/**
 * Runs `kernel` on X [T, K] and int8 weights [N, K] split in two row parts (bias at element 1, Y [T, N + 5]
 * written at columns 2 .. N + 1) and checks against the float64 product with the dequantised weights.
 */
async function check(
  kernel: Kernel,
  c: Case,
  next: () => number,
  consts: Record<string, number | boolean> = {},
) {
  const { T, N, K, group } = c;
  const x = randn(T * K, next);
  // Rows of different magnitudes, so per-row scales differ.
  const w = Float32Array.from({ length: N * K }, (_, i) => (next() * 2 - 1) * (1 + (Math.floor(i / K) % 7)));
  const bias = randn(N + 3, next);
  const col0 = 2;
  const ldy = N + 5;
  const parts = planRowParts(
    N,
    K,
    'int8',
    (Math.ceil(N / 2) * int8PartWords(1, K, group) + 4) * 4,
    undefined,
    group,
  );
  expect(parts.length).toBe(2);
  const bx = storage(x);
  const bb = storage(bias);
  const by = storage(new Float32Array(T * ldy));
  const made: GPUBuffer[] = [];
  const want = new Float64Array(T * N);
  const enc = dev.device.createCommandEncoder();
  const pass = enc.beginComputePass();
  for (const p of parts) {
    const slice = w.slice(p.row0 * K, (p.row0 + p.rows) * K);
    const words = packWeights(slice, 'int8', K, group);
    const held = dequantizeInt8(quantizeInt8(slice, p.rows, K, group), p.rows, K, group);
    for (let t = 0; t < T; t++) {
      for (let n = 0; n < p.rows; n++) {
        let acc = bias[1 + p.row0 + n]!;
        for (let k = 0; k < K; k++) acc += x[t * K + k]! * held[n * K + k]!;
        want[t * N + p.row0 + n] = acc;
      }
    }
    const bw = storage(words);
    const split = kernel === 'gemm_tiled' ? [0, 1] : [0, 0];
    const shape = uniform([p.rows, K, ldy, col0 + p.row0, 1 + p.row0, 1, ...split]);
    const dims = uniform([T, 0, 0, 0]);
    made.push(bw, shape, dims);
    const all = { F16: false, I8: true, GS: group, ...consts };
    let pipeline: GPUComputePipeline;
    let groups: [number, number, number];
    let bindGroup: GPUBindGroup;
    if (kernel === 'gemv_fused' || kernel === 'gemv_fused_sg') {
      const unused = [storage(new Float32Array(4)), storage(new Float32Array(4))];
      made.push(...unused);
      const k = pipes.kernel(kernel, all);
      pipeline = k.pipeline;
      const io = { shape, X: bx, W: bw, params: bb, Y: by, state: unused[0]!, xc: unused[1]! };
      bindGroup = k.bind(kernel, io);
      groups = [Math.ceil(p.rows / Number(consts['ROWS'] ?? 1)), 1, 1];
    } else if (kernel === 'gemm_tiled') {
      const bp = storage(new Float32Array(4));
      made.push(bp);
      const k = pipes.kernel(kernel, all);
      pipeline = k.pipeline;
      bindGroup = k.bind(kernel, { dims, X: bx, W: bw, bias: bb, Y: by, shape, P: bp });
      const tm = Number(consts['TM']);
      groups = [Math.ceil(p.rows / (16 * Number(consts['TN']))), Math.ceil(T / (16 * tm)), 1];
    } else if (kernel === 'gemm_reg') {
      const k = pipes.kernel(kernel, all);
      pipeline = k.pipeline;
      bindGroup = k.bind(kernel, { dims, X: bx, W: bw, bias: bb, Y: by, shape });
      groups = [Math.ceil(p.rows / 4 / 64), Math.ceil(T / 4), 1];
    } else {
      const k = pipes.kernel(kernel, all);
      pipeline = k.pipeline;
      bindGroup = k.bind(kernel, { X: bx, W: bw, bias: bb, Y: by, shape });
      groups = kernel === 'gemv' ? [Math.ceil(p.rows / 4 / 64), 1, 1] : [p.rows, 1, 1];
    }
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(...groups);
  }
  pass.end();
  dev.device.queue.submit([enc.finish()]);
  const got = await read(by, T * ldy * 4);
  const rows = new Float32Array(T * N);
  for (let t = 0; t < T; t++) {
    for (let n = 0; n < N; n++) rows[t * N + n] = got[t * ldy + col0 + n]!;
    expect(got[t * ldy]).toBe(0);
    expect(got[t * ldy + col0 + N]).toBe(0);
  }
  expect(relMaxDiff(rows, want), `${kernel} T=${T} N=${N} K=${K} group ${group}`).toBeLessThan(1e-5);
  for (const b of [bx, bb, by, ...made]) b.destroy();
}

describe('int8 kernels against a float64 product over the dequantised weights', () => {
  // [T, N, K]: odd K (generic paths), K % 16 == 0 (16-weight loads); N and T off every tile.
  const shapes: [number, number, number][] = [
    [1, 67, 35],
    [5, 130, 96],
    [70, 67, 160],
  ];
  const groups = [0, 16, 32];
  const kernels: [Kernel, Record<string, number | boolean>][] = [
    ['gemm_reg', {}],
    ['gemv', {}],
    ['gemv_coop', {}],
    ['gemv_subgroup', {}],
    ['gemm_tiled', { TM: 4, TN: 4 }],
    ['gemm_tiled', { TM: 8, TN: 8 }],
  ];
  for (const [kernel, consts] of kernels) {
    it(`${kernel} ${JSON.stringify(consts)}`, async (ctx) => {
      if (kernel === 'gemv_subgroup' && !dev.hasSubgroups) ctx.skip();
      await withScope(dev.device, async () => {
        const next = rng(21);
        for (const [T0, N, K] of shapes) {
          for (const group of groups) {
            await check(kernel, { T: kernel.startsWith('gemv') ? 1 : T0, N, K, group }, next, consts);
          }
        }
      });
    });
  }
  // The fused decode GEMV takes K % 16 == 0 only (decisions.ts fusedDecode).
  for (const kernel of ['gemv_fused', 'gemv_fused_sg'] as const) {
    for (const rows of [1, 4]) {
      it(`${kernel}, ${rows} rows per workgroup`, async (ctx) => {
        if (kernel === 'gemv_fused_sg' && !dev.hasSubgroups) ctx.skip();
        await withScope(dev.device, async () => {
          const next = rng(23);
          for (const [N, K] of [
            [67, 96],
            [130, 160],
          ] as const) {
            for (const group of groups) await check(kernel, { T: 1, N, K, group }, next, { ROWS: rows });
          }
        });
      });
    }
  }
});
