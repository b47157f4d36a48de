/**
 * Mamba-2's chunked SSD passes on subgroup matrices (the 'sgmm' form: m2_ssd_chunk_state_sgmm →
 * m2_ssd_state_pass_tiled → m2_ssd_chunk_scan_sgmm, as src/engine/mamba2/ssd.ts plans them) against the float64
 * recurrence (src/engine/reference/mamba2.ts ssdScan): y, the final state and Σ Δ, from a random state, with a
 * clamped Δ, two groups of two heads, T = 1, T < Q, partial last chunks, and the wide shape (P 80, N 72) whose
 * 64-blocks are partial in both P and N.
 * - Where the adapter has no subgroup matrices (SwiftShader here), the kernels' EMULATE builds
 *   (include/sgmm_ops.wgsl: each lane holds each 16 × 16 matrix whole as f32) run on the same buffers, offsets
 *   and strides. With EXACT too (operands kept f32) they must match within 1e-5 of the largest value, as the
 *   other SSD kernels do: that checks the index arithmetic. As built for the GPU (operands rounded to f16 where
 *   the real kernels convert) within F16_TOL, which is what f16 operands cost; a wrong index costs O(1).
 * - Where it has them (the GPU machine with Dawn's toggles), the real kernels run too, against F16_TOL.
 * SwiftShader's 32 KB of workgroup memory hold the EMULATE builds (f32 operands, twice the f16 bytes) at Q 16
 * and 32 only; Q 48 and 64 run on the real kernels, and there the EMULATE builds check that m2SsdSgmmStorage
 * counts the bytes the kernels declare (SwiftShader refuses them, naming the count).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { EngineDevice } from '../src/engine/gpu/device.ts';
import { openNodeDevice } from '../src/engine/gpu/node.ts';
import { PipelineCache } from '../src/engine/kernels/pipelines.ts';
import { m2SsdSgmm, m2SsdSgmmStorage } from '../src/engine/mamba2/decisions.ts';
import { buildWith, hasRealSubgroupMatrix, swapSources } from './helpers/emulate.ts';
import { expectSsd, runSsd, ssdCase, WIDE, type SsdDims } from './helpers/ssdCase.ts';

// f16 operands (x, B, C, the entering states, M) carry a relative rounding of up to 2^-11 each. In the
// emulated runs here y came out within 5.6e-4 of the largest value and the state within 3.7e-4 (45 and 70
// tokens, both shapes); a wrong index or a missed tile gives errors of order 1.
const F16_TOL = 2e-3;
const EXACT_TOL = 1e-5;

const SMALL: SsdDims = { numHeads: 4, headDim: 8, nGroups: 2, stateSize: 12 };
const KERNELS = ['m2_ssd_chunk_state_sgmm', 'm2_ssd_chunk_scan_sgmm'] as const;

let dev: EngineDevice;
beforeAll(async () => {
  dev = await openNodeDevice();
});

/** Runs one case with the kernels' sources as `defines` build them (undefined: the real kernels). */
async function check(
  d: SsdDims,
  T: number,
  q: number,
  defines: Record<string, string> | undefined,
  tol: number,
) {
  const restore = defines
    ? swapSources(Object.fromEntries(KERNELS.map((k) => [k, buildWith(`${k}.wgsl`, k, defines)])))
    : () => {};
  try {
    // A cache of its own: pipelines are cached by kernel name, and each build here differs under one name.
    const pipes = new PipelineCache(dev.device);
    const c = ssdCase(d, T, 31 + T + q + d.headDim);
    const got = await runSsd(dev.device, pipes, d, T, c, m2SsdSgmm(q));
    expectSsd(got, c, tol);
  } finally {
    restore();
  }
}

const shapeOf = (d: SsdDims) => `H ${d.numHeads}, P ${d.headDim}, G ${d.nGroups}, N ${d.stateSize}`;

describe('Mamba-2 SSD passes on subgroup matrices, EMULATE builds', () => {
  const exact: [SsdDims, number, number][] = [
    [SMALL, 1, 16],
    [SMALL, 45, 16],
    [SMALL, 7, 32],
    [SMALL, 64, 32],
    [WIDE, 70, 32],
  ];
  for (const [d, T, q] of exact) {
    it(`operands f32 (EXACT): ${T} tokens in chunks of ${q} (${shapeOf(d)}) within ${EXACT_TOL}`, async () => {
      await check(d, T, q, { EMULATE: '1', EXACT: '1' }, EXACT_TOL);
    });
  }
  for (const [d, T, q] of [
    [SMALL, 45, 32],
    [WIDE, 70, 32],
  ] as const) {
    it(`operands rounded to f16: ${T} tokens in chunks of ${q} (${shapeOf(d)}) within ${F16_TOL}`, async () => {
      await check(d, T, q, { EMULATE: '1' }, F16_TOL);
    });
  }
});

describe('Mamba-2 SSD passes on subgroup matrices, real kernels (adapters with f16 subgroup matrices)', () => {
  for (const [d, T, q] of [
    [SMALL, 1, 16],
    [SMALL, 45, 16],
    [SMALL, 45, 32],
    [SMALL, 100, 48],
    [SMALL, 100, 64],
    [WIDE, 70, 32],
    [WIDE, 130, 64],
  ] as const) {
    it(`${T} tokens in chunks of ${q} (${shapeOf(d)}) within ${F16_TOL}`, async (ctx) => {
      if (!hasRealSubgroupMatrix(dev)) ctx.skip();
      await check(d, T, q, undefined, F16_TOL);
    });
  }
});

describe('m2SsdSgmmStorage counts the workgroup memory the kernels declare', () => {
  // The EMULATE builds hold f32 operands, 4 bytes where the real kernels hold 2; past the device's limit (32 KB
  // on SwiftShader) the pipeline is refused with the kernel's byte count, which must be what the decision (the
  // device check m2SsdSgmmRefusal makes before a model loads) counts.
  for (const q of [48, 64]) {
    it(`Q ${q}: the larger kernel's bytes, f32 operands`, async (ctx) => {
      const want = m2SsdSgmmStorage(q, 4);
      if (want <= dev.device.limits.maxComputeWorkgroupStorageSize) ctx.skip();
      const shape = { H: 4, P: 64, G: 1, N: 64, Q: q };
      const delta = { DTB_OFF: 0, LDP: 1, DT_COL: 0, A_OFF: 0 };
      const used: number[] = [];
      for (const [k, consts] of [
        ['m2_ssd_chunk_state_sgmm', { ...shape, ...delta }],
        ['m2_ssd_chunk_scan_sgmm', { ...shape, D_OFF: 0 }],
      ] as const) {
        const module = dev.device.createShaderModule({ code: buildWith(`${k}.wgsl`, k, { EMULATE: '1' }) });
        dev.device.pushErrorScope('validation');
        dev.device.createComputePipeline({
          layout: 'auto',
          compute: { module, entryPoint: 'main', constants: consts },
        });
        const e = await dev.device.popErrorScope();
        const bytes = /workgroup storage \((\d+) bytes\)/.exec(e?.message ?? '')?.[1];
        if (bytes !== undefined) used.push(Number(bytes));
      }
      expect(used.length).toBeGreaterThan(0);
      expect(Math.max(...used)).toBe(want);
    });
  }
});
