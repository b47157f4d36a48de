/**
 * Mamba-2's batched kernels on a real adapter against the float64 reference (src/engine/reference/mamba2.ts),
 * run per sequence: m2_conv_seg.wgsl (causalConv) and the segmented scans (ssdScan: m2_scan_seg.wgsl, and
 * m2_scan_seg_wg.wgsl's plain and subgroup builds for GPUs, each with its grid) on one chunk cut into segments,
 * each continuing from its own state slot with a random state. Segment tables: prefill-like segments of 1, 6, 2
 * and 3 tokens (the 2-token one shorter than d_conv − 1 at d_conv 4, so its new conv state keeps part of the old
 * one), a decode-like chunk of five 1-token segments, and for the scans one with a 41-token segment (two of
 * m2_scan_seg_wg's blocks of row sums); slots in non-identity order, one slot (prefill table) that no segment
 * names, which must stay bit for bit. Two groups of two heads, a clamped Δ, d_conv 4, 3 and 2; the scans also
 * at N 72 (past 64 invocations, not a multiple of them) with P 3. Tolerance 1e-5 relative to the largest
 * expected value, as tests/kernels.mamba2.test.ts.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { EngineDevice } from '../src/engine/gpu/device.ts';
import { openNodeDevice } from '../src/engine/gpu/node.ts';
import { PipelineCache } from '../src/engine/kernels/pipelines.ts';
import type { m2ScanSegKernel } from '../src/engine/mamba2/decisions.ts';
import { causalConv, ssdScan } from '../src/engine/reference/mamba2.ts';
import { relMaxDiff } from './helpers/fixtures.ts';
import { withScope } from './helpers/gpu.ts';
import { Buffers, uniformRandom } from './helpers/mamba2Buffers.ts';

const TOL = 1e-5;

let dev: EngineDevice;
let pipes: PipelineCache;
beforeAll(async () => {
  dev = await openNodeDevice();
  pipes = PipelineCache.forDevice(dev.device);
});

// Two groups of two heads; in_proj's rows are z | x B C | dt | 3 spare columns (strides are not sizes).
const H = 4;
const P = 8;
const G = 2;
const N = 12;
const DI = H * P;
const CD = DI + 2 * G * N;
const LDP = DI + CD + H + 3;
const LIMIT = [0.05, 1.5] as const;

/** A slot: 2 spare floats, ssm [H, P, N], dtSum [H], conv [CD, DC−1], 3 spare floats (stride ≠ its parts). */
function slotLayout(dc: number) {
  const ssm = 2;
  const dtSum = ssm + H * P * N;
  const conv = dtSum + H;
  return { ssm, dtSum, conv, stride: conv + CD * (dc - 1) + 3 };
}

/** (start, length, slot) per segment, in token order. */
type Segments = [number, number, number][];
const TABLES: Record<string, { segs: Segments; slots: number }> = {
  // Slot 2 is named by no segment.
  prefill: {
    segs: [
      [0, 1, 3],
      [1, 6, 0],
      [7, 2, 4],
      [9, 3, 1],
    ],
    slots: 5,
  },
  decode: {
    segs: [
      [0, 1, 2],
      [1, 1, 0],
      [2, 1, 4],
      [3, 1, 1],
      [4, 1, 3],
    ],
    slots: 5,
  },
};

const tokensOf = (segs: Segments) => segs.reduce((s, [, len]) => s + len, 0);
const segTable = (segs: Segments) =>
  Uint32Array.from([segs.length, ...segs.flatMap(([s, , slot]) => [s, slot]), tokensOf(segs)]);

/** Slot `slot`'s floats [from, from + n) of `slots` (stride `stride`), as float64 for the reference. */
const slotPart = (slots: Float32Array, stride: number, slot: number, from: number, n: number) =>
  Float64Array.from(slots.subarray(slot * stride + from, slot * stride + from + n));

/** Slots no segment names keep every float. */
function expectUntouched(
  got: Float32Array,
  before: Float32Array,
  stride: number,
  t: (typeof TABLES)[string],
) {
  for (let s = 0; s < t.slots; s++) {
    if (t.segs.some(([, , slot]) => slot === s)) continue;
    expect([...got.subarray(s * stride, (s + 1) * stride)]).toEqual([
      ...before.subarray(s * stride, (s + 1) * stride),
    ]);
  }
}

describe('segmented Mamba-2 conv (m2_conv_seg)', () => {
  for (const dc of [4, 3, 2]) {
    for (const [name, table] of Object.entries(TABLES)) {
      it(`d_conv ${dc}, ${name} segments: each from its slot's conv state, which keeps its last inputs`, async () => {
        const r = uniformRandom(10 * dc + name.length);
        const { conv, stride } = slotLayout(dc);
        const T = tokensOf(table.segs);
        const [cwOff, cbOff] = [3, 3 + CD * dc];
        const params = r(cbOff + CD, 0.6);
        const proj = r(T * LDP);
        const slots = r(table.slots * stride);
        const b = new Buffers(dev.device);
        const [gotXbc, gotSlots] = await withScope(dev.device, async () => {
          const xbc = b.storage(T * CD);
          const slotBuf = b.storage(slots);
          const k = pipes.kernel('m2_conv_seg', {
            CD,
            DC: dc,
            LDP,
            XBC_COL: DI,
            HAS_BIAS: true,
            CW_OFF: cwOff,
            CB_OFF: cbOff,
            CONV_OFF: conv,
            STRIDE: stride,
          });
          const buffers = {
            segs: b.storage(segTable(table.segs)),
            proj: b.storage(proj),
            params: b.storage(params),
            slots: slotBuf,
            xbc,
          };
          // Rows along y as the plan dispatches them (T ≥ segments; the extra ones return).
          const step = k.dispatch('conv_seg', buffers, (t) => [Math.ceil(CD / 64), t, 1]);
          return b.run([step], T, [
            [xbc, T * CD],
            [slotBuf, slots.length],
          ]);
        });
        b.destroy();
        const weight = params.subarray(cwOff, cwOff + CD * dc);
        const bias = params.subarray(cbOff, cbOff + CD);
        for (const [s0, len, slot] of table.segs) {
          const state = slotPart(slots, stride, slot, conv, CD * (dc - 1));
          const want = causalConv(proj.subarray(s0 * LDP), len, LDP, DI, CD, dc, weight, bias, state);
          const seg = `segment at ${s0} (slot ${slot})`;
          expect(relMaxDiff(gotXbc!.subarray(s0 * CD, (s0 + len) * CD), want), seg).toBeLessThan(TOL);
          const gotState = gotSlots!.subarray(slot * stride + conv, slot * stride + conv + CD * (dc - 1));
          expect(relMaxDiff(gotState, state), `${seg} state`).toBeLessThan(TOL);
        }
        expectUntouched(gotSlots!, slots, stride, table);
      });
    }
  }
});

/** The scan's sizes: the conv tests' (N 12) and one with N past 64 and not a multiple of it. */
interface ScanShape {
  H: number;
  P: number;
  G: number;
  N: number;
}
const SCAN_SHAPES: ScanShape[] = [
  { H, P, G, N },
  { H: 4, P: 3, G: 2, N: 72 },
];

/** The scan kernels and their grids over a chunk of T tokens (T rows or layers cover the segments). */
const SCAN_KERNELS: { name: ScanKernel; subgroups: boolean; grid: (s: ScanShape, t: number) => Grid }[] = [
  { name: 'm2_scan_seg', subgroups: false, grid: (s, t) => [Math.ceil((s.H * s.P) / 64), t, 1] },
  { name: 'm2_scan_seg_wg', subgroups: false, grid: (s, t) => [s.P, s.H, t] },
  { name: 'm2_scan_seg_wg_sg', subgroups: true, grid: (s, t) => [s.P, s.H, t] },
];
type Grid = [number, number, number];
type ScanKernel = ReturnType<typeof m2ScanSegKernel>;

// The prefill and decode tables, and one whose middle segment (41 tokens) spans two of m2_scan_seg_wg's
// 32-token blocks of row sums.
const SCAN_TABLES: typeof TABLES = {
  ...TABLES,
  long: {
    segs: [
      [0, 2, 1],
      [2, 41, 2],
      [43, 1, 0],
    ],
    slots: 3,
  },
};

for (const { name: kernel, subgroups, grid } of SCAN_KERNELS) {
  describe(`segmented Mamba-2 scan (${kernel})`, () => {
    for (const shape of SCAN_SHAPES) {
      for (const [name, table] of Object.entries(SCAN_TABLES)) {
        it(`H ${shape.H}, P ${shape.P}, N ${shape.N}, ${name} segments: each from its slot's state and Σ Δ, both written back`, async (ctx) => {
          if (subgroups && !dev.hasSubgroups) ctx.skip();
          await checkScan(kernel, shape, (t) => grid(shape, t), table, 40 + name.length + shape.N);
        });
      }
    }
  });
}

/** Runs `kernel` on `table`'s segments of random inputs and checks y, the slots' state and Σ Δ per segment. */
async function checkScan(
  kernel: ScanKernel,
  shape: ScanShape,
  grid: (t: number) => Grid,
  table: (typeof TABLES)[string],
  seed: number,
) {
  const { H, P, G, N } = shape;
  const DI = H * P;
  const CD = DI + 2 * G * N;
  const LDP = DI + CD + H + 3;
  const DT_COL = DI + CD;
  const r = uniformRandom(seed);
  // A slot: 2 spare floats, ssm [H, P, N], dtSum [H], 5 spare floats (stride ≠ its parts).
  const [ssm, dtSum] = [2, 2 + H * P * N];
  const stride = dtSum + H + 5;
  const T = tokensOf(table.segs);
  const [dtbOff, aOff, dOff] = [5, 5 + H, 5 + 2 * H];
  const params = r(dOff + H);
  const xbc = r(T * CD);
  const proj = r(T * LDP, 3);
  const slots = r(table.slots * stride, 0.5);
  for (let s = 0; s < table.slots; s++) {
    for (let h = 0; h < H; h++) slots[s * stride + dtSum + h] = Math.abs(slots[s * stride + dtSum + h]!);
  }
  const b = new Buffers(dev.device);
  const [gotY, gotSlots] = await withScope(dev.device, async () => {
    const y = b.storage(T * DI);
    const slotBuf = b.storage(slots);
    const k = pipes.kernel(kernel, {
      H,
      P,
      G,
      N,
      LDP,
      DT_COL,
      DTB_OFF: dtbOff,
      DT_MIN: LIMIT[0],
      DT_MAX: LIMIT[1],
      A_OFF: aOff,
      D_OFF: dOff,
      SSM_OFF: ssm,
      DTS_OFF: dtSum,
      STRIDE: stride,
    });
    const buffers = {
      segs: b.storage(segTable(table.segs)),
      xbc: b.storage(xbc),
      proj: b.storage(proj),
      params: b.storage(params),
      slots: slotBuf,
      y,
    };
    return b.run([k.dispatch('scan_seg', buffers, grid)], T, [
      [y, T * DI],
      [slotBuf, slots.length],
    ]);
  });
  b.destroy();
  const p = {
    dtBias: params.subarray(dtbOff, dtbOff + H),
    aLog: params.subarray(aOff, aOff + H),
    d: params.subarray(dOff, dOff + H),
    timeStepLimit: LIMIT,
  };
  const dims = { numHeads: H, headDim: P, nGroups: G, stateSize: N };
  for (const [s0, len, slot] of table.segs) {
    const st = {
      ssm: slotPart(slots, stride, slot, ssm, H * P * N),
      dtSum: slotPart(slots, stride, slot, dtSum, H),
    };
    const want = ssdScan(xbc.subarray(s0 * CD), proj.subarray(s0 * LDP), LDP, DT_COL, len, dims, p, st);
    const seg = `segment at ${s0} (slot ${slot})`;
    expect(relMaxDiff(gotY!.subarray(s0 * DI, (s0 + len) * DI), want), seg).toBeLessThan(TOL);
    const base = slot * stride;
    expect(relMaxDiff(gotSlots!.subarray(base + ssm, base + ssm + H * P * N), st.ssm), seg).toBeLessThan(TOL);
    expect(relMaxDiff(gotSlots!.subarray(base + dtSum, base + dtSum + H), st.dtSum), seg).toBeLessThan(TOL);
  }
  expectUntouched(gotSlots!, slots, stride, table);
}
