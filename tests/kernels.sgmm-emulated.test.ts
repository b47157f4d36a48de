/**
 * shaders/gemm_sgmm.wgsl's index arithmetic where no adapter has subgroup matrices or shader-f16 (SwiftShader
 * here): each variant built with EMULATE (every lane holds each 16 x 16 matrix whole as f32, rounding to f16
 * where the real kernel converts) runs on the same buffers, offsets and strides as the real kernel, on ragged
 * shapes (T, N, K not multiples of the tiles where the variant allows it), with and without split-K, and must
 * match the float64 sums of the f16 operands within 1e-5 of the largest entry. to_f16.wgsl, which feeds the
 * f16-X variants, must give f32ToF16's bits and zero padding rows. The real kernels (subgroupMatrixLoad and
 * friends on tensor cores) are checked on the GPU machine by bench/sgmat-sweep.ts against the same reference.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  makeProblem,
  padRows,
  problemBuffers,
  readF32,
  reference,
  relErr,
  sgmmConstants,
  sgmmName,
  sgmmStep,
  submit,
  toF16Step,
  type GemmShape,
  type Problem,
} from '../bench/sgmm-lib.ts';
import { sgmmFits, sgmmLayout, type SgmmChoice } from '../src/engine/sgmmDecisions.ts';
import type { EngineDevice } from '../src/engine/gpu/device.ts';
import { openNodeDevice } from '../src/engine/gpu/node.ts';
import { f16ToF32, f32ToF16 } from '../src/model/safetensors.ts';
import { buildWith } from './helpers/emulate.ts';
import { withScope } from './helpers/gpu.ts';

/** The variant's WGSL with EMULATE added to its defines. */
function emulated(kernel: string): string {
  return buildWith('gemm_sgmm.wgsl', kernel, { EMULATE: '1' });
}

let dev: EngineDevice;
beforeAll(async () => {
  dev = await openNodeDevice();
});

interface Case {
  c: SgmmChoice;
  s: GemmShape;
  splitTarget: number;
}

// Small geometries (the emulation multiplies 16 x 16 matrices per lane), each variant once or twice.
const CASES: Case[] = [
  {
    c: { kernel: 'gemm_sgmm_fs', SGM: 1, SGN: 2, TI: 2, TJ: 1, BK: 32 },
    s: { name: 'ragged', T: 37, N: 70, K: 72 },
    splitTarget: 0,
  },
  {
    c: { kernel: 'gemm_sgmm_fs', SGM: 1, SGN: 1, TI: 1, TJ: 3, BK: 16 },
    s: { name: 'odd K, split-K', T: 19, N: 50, K: 133 },
    splitTarget: 64,
  },
  {
    c: { kernel: 'gemm_sgmm_fs_db', SGM: 2, SGN: 1, TI: 1, TJ: 2, BK: 16 },
    s: { name: 'ragged', T: 40, N: 45, K: 88 },
    splitTarget: 0,
  },
  {
    c: { kernel: 'gemm_sgmm_fs_db', SGM: 1, SGN: 1, TI: 2, TJ: 2, BK: 32 },
    s: { name: 'split-K', T: 32, N: 32, K: 256 },
    splitTarget: 16,
  },
  {
    c: { kernel: 'gemm_sgmm_fd', SGM: 1, SGN: 2, TI: 1, TJ: 1, BK: 32 },
    s: { name: 'N % BN = 0', T: 21, N: 64, K: 80 },
    splitTarget: 0,
  },
  {
    c: { kernel: 'gemm_sgmm_fd_db', SGM: 1, SGN: 1, TI: 2, TJ: 2, BK: 32 },
    s: { name: 'split-K', T: 30, N: 32, K: 160 },
    splitTarget: 8,
  },
  {
    c: { kernel: 'gemm_sgmm_hs', SGM: 1, SGN: 1, TI: 2, TJ: 2, BK: 32 },
    s: { name: 'ragged', T: 33, N: 40, K: 48 },
    splitTarget: 0,
  },
  {
    c: { kernel: 'gemm_sgmm_hs_db', SGM: 1, SGN: 2, TI: 1, TJ: 1, BK: 16 },
    s: { name: 'ragged', T: 17, N: 37, K: 96 },
    splitTarget: 0,
  },
  {
    c: { kernel: 'gemm_sgmm_hd', SGM: 2, SGN: 1, TI: 1, TJ: 2, BK: 32 },
    s: { name: 'N % BN = 0', T: 20, N: 64, K: 64 },
    splitTarget: 0,
  },
  {
    c: { kernel: 'gemm_sgmm_ds', SGM: 1, SGN: 1, TI: 1, TJ: 4, BK: 32 },
    s: { name: 'ragged N', T: 18, N: 70, K: 48 },
    splitTarget: 0,
  },
  {
    c: { kernel: 'gemm_sgmm_ds_db', SGM: 1, SGN: 1, TI: 2, TJ: 1, BK: 16 },
    s: { name: 'split-K', T: 30, N: 20, K: 128 },
    splitTarget: 8,
  },
  {
    c: { kernel: 'gemm_sgmm_dd', SGM: 1, SGN: 2, TI: 2, TJ: 1, BK: 32 },
    s: { name: 'N % BN = 0', T: 17, N: 64, K: 64 },
    splitTarget: 0,
  },
  {
    c: { kernel: 'gemm_sgmm_dd', SGM: 1, SGN: 1, TI: 1, TJ: 1, BK: 64 },
    s: { name: 'split-K', T: 40, N: 32, K: 192 },
    splitTarget: 12,
  },
  {
    c: { kernel: 'gemm_sgmm_fs_n8', SGM: 1, SGN: 2, TI: 1, TJ: 1, BK: 16 },
    s: { name: 'ragged', T: 21, N: 30, K: 40 },
    splitTarget: 0,
  },
  {
    c: { kernel: 'gemm_sgmm_dd_n8', SGM: 1, SGN: 1, TI: 2, TJ: 2, BK: 32 },
    s: { name: 'N % BN = 0', T: 19, N: 32, K: 48 },
    splitTarget: 0,
  },
];

/** Problem `p` with every (t, n) as a sample, so reference() and relErr() cover the whole result. */
function everyEntry(p: Problem): Problem {
  const all: [number, number][] = [];
  for (let t = 0; t < p.s.T; t++) for (let n = 0; n < p.s.N; n++) all.push([t, n]);
  return { ...p, samples: all };
}

/**
 * Variant `c`'s EMULATE build on problem `p`, X converted first where the variant reads it as f16 (to_f16_x2
 * for the _x2 variants); checks that a case meant to split K does. Returns Y [T, N].
 */
async function runEmulated(c: SgmmChoice, p: Problem, splitTarget: number): Promise<Float32Array> {
  const device = dev.device;
  const { s } = p;
  const b = problemBuffers(device, p);
  const module = device.createShaderModule({ code: emulated(c.kernel) });
  const pipeline = device.createComputePipeline({
    layout: 'auto',
    compute: { module, entryPoint: 'main', constants: sgmmConstants(c, s) },
  });
  const gemm = sgmmStep(device, pipeline, c, p, b, splitTarget);
  if (splitTarget > 0) expect(gemm.split, 'the case splits K').toBeGreaterThan(1);
  const l = sgmmLayout(c);
  await submit(device, l.halfX ? [toF16Step(device, p, b, l.splitX), gemm.encode] : [gemm.encode]);
  const y = await readF32(device, b.Y, s.T * s.N);
  b.destroy();
  return y;
}

describe('gemm_sgmm emulated (EMULATE) against float64', () => {
  for (const { c, s, splitTarget } of CASES) {
    it(`${sgmmName(c)} on ${s.T}x${s.N}x${s.K} (${s.name})`, async () => {
      expect(sgmmFits(c, 16384, { rows: s.N, k: s.K }), 'the case is one the host allows').toBe(true);
      await withScope(dev.device, async () => {
        // The reference on every entry: float64 sums of the f16-rounded X and the f16 W.
        const p = everyEntry(makeProblem(s, s.T * 131 + s.N * 7 + s.K, 120));
        const y = await runEmulated(c, p, splitTarget);
        expect(relErr(p, y, reference(p).rounded)).toBeLessThan(1e-5);
      });
    });
  }
});

// The _x2 variant (X as hi + lo f16 halves, to_f16_x2 first) against the float64 sums of the f32 X itself: it
// must reach the f32 GEMM's accuracy, where the plain variant on the same problem stays at f16 rounding's.
describe('gemm_sgmm_ds_db_x2 emulated against float64 of the f32 X', () => {
  const x2Cases: Case[] = [
    {
      c: { kernel: 'gemm_sgmm_ds_db_x2', SGM: 1, SGN: 1, TI: 2, TJ: 1, BK: 16 },
      s: { name: 'split-K', T: 30, N: 20, K: 128 },
      splitTarget: 8,
    },
    {
      c: { kernel: 'gemm_sgmm_ds_db_x2', SGM: 2, SGN: 1, TI: 1, TJ: 2, BK: 32 },
      s: { name: 'ragged T and N', T: 45, N: 50, K: 96 },
      splitTarget: 0,
    },
  ];
  for (const { c, s, splitTarget } of x2Cases) {
    it(`${sgmmName(c)} on ${s.T}x${s.N}x${s.K} (${s.name}): within 1e-6, where X rounded to f16 is not`, async () => {
      expect(sgmmFits(c, 16384, { rows: s.N, k: s.K })).toBe(true);
      await withScope(dev.device, async () => {
        const p = everyEntry(makeProblem(s, s.T * 17 + s.N * 5 + s.K, 120));
        const want = reference(p).f32;
        const x2 = relErr(p, await runEmulated(c, p, splitTarget), want);
        const plain = relErr(p, await runEmulated({ ...c, kernel: 'gemm_sgmm_ds_db' }, p, splitTarget), want);
        expect(x2).toBeLessThan(1e-6);
        // f16 rounding of X (2^-11 relative per entry) leaves the plain variant far above that.
        expect(plain).toBeGreaterThan(1e-5);
      });
    });
  }
});

describe('to_f16', () => {
  it("gives f32ToF16's bits for t < T and zeros up to the padded rows", async () => {
    const device = dev.device;
    await withScope(device, async () => {
      const s = { name: 'cvt', T: 5, N: 16, K: 24 };
      const p = makeProblem(s, 3);
      p.x[0] = 65504; // the largest f16
      p.x[1] = 1e-6; // a subnormal f16
      p.x[2] = -0;
      p.x[3] = 1 + 2 ** -11; // a tie: rounds to even (1)
      const b = problemBuffers(device, p);
      await submit(device, [toF16Step(device, p, b)]);
      const rows = padRows(s.T);
      const words = new Uint32Array((await readF32(device, b.Xh, (rows * s.K) / 2)).buffer);
      const bits = Array.from({ length: rows * s.K }, (_, i) => (words[i >> 1]! >>> (16 * (i & 1))) & 0xffff);
      const want = Array.from({ length: rows * s.K }, (_, i) => (i < s.T * s.K ? f32ToF16(p.x[i]!) : 0));
      b.destroy();
      expect(bits).toEqual(want);
    });
  });

  it('to_f16_x2 gives hi = f16(x) in the first ROWS rows, lo = f16(x − hi) in the next, zeros past T', async () => {
    const device = dev.device;
    await withScope(device, async () => {
      const s = { name: 'cvt', T: 5, N: 16, K: 24 };
      const p = makeProblem(s, 5);
      p.x[0] = 65504;
      p.x[1] = 1 + 2 ** -11 + 2 ** -20; // hi 1 + 2^-10 (rounds up), lo negative
      p.x[2] = 1e-6;
      p.x[3] = Math.fround(Math.PI);
      const b = problemBuffers(device, p);
      await submit(device, [toF16Step(device, p, b, true)]);
      const rows = padRows(s.T);
      const words = new Uint32Array((await readF32(device, b.Xh, rows * s.K)).buffer);
      const bits = Array.from(
        { length: 2 * rows * s.K },
        (_, i) => (words[i >> 1]! >>> (16 * (i & 1))) & 0xffff,
      );
      const hi = (i: number) => (i < s.T * s.K ? f32ToF16(p.x[i]!) : 0);
      const lo = (i: number) => (i < s.T * s.K ? f32ToF16(Math.fround(p.x[i]! - f16ToF32(hi(i)))) : 0);
      const want = Array.from({ length: 2 * rows * s.K }, (_, i) =>
        i < rows * s.K ? hi(i) : lo(i - rows * s.K),
      );
      b.destroy();
      expect(bits).toEqual(want);
      // hi + lo is x to 2^-22 of its size on the ordinary entries.
      for (const i of [1, 3, 7, 50]) {
        const sum = f16ToF32(bits[i]!) + f16ToF32(bits[rows * s.K + i]!);
        expect(Math.abs(sum - p.x[i]!)).toBeLessThanOrEqual(Math.abs(p.x[i]!) * 2 ** -22);
      }
    });
  });
});
