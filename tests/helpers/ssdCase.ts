/**
 * The chunked-SSD problems the Mamba-2 scan tests share (kernels.mamba2, kernels.m2-ssd-sgmm): inputs of any
 * shape with the float64 recurrence's answer (src/engine/reference/mamba2.ts ssdScan), and a run of the
 * dispatches the engine plans for an SSD choice (src/engine/mamba2/ssd.ts) on them.
 */
import { expect } from 'vitest';
import type { PipelineCache } from '../../src/engine/kernels/pipelines.ts';
import type { M2SsdChoice } from '../../src/engine/mamba2/decisions.ts';
import { ssdScratchFloats, ssdSteps } from '../../src/engine/mamba2/ssd.ts';
import { ssdScan } from '../../src/engine/reference/mamba2.ts';
import { relMaxDiff } from './fixtures.ts';
import { withScope } from './gpu.ts';
import { Buffers, uniformRandom } from './mamba2Buffers.ts';

/** Heads, head_dim, groups and state_size of one scan. */
export interface SsdDims {
  numHeads: number;
  headDim: number;
  nGroups: number;
  stateSize: number;
}

/** Δ's clamp in every case (time_step_limit), so the clamp is exercised. */
export const LIMIT = [0.05, 1.5] as const;

/** `small` in the tests' shape family, wider: two 64-blocks of P and of N, both partial (the tiles' edges). */
export const WIDE: SsdDims = { numHeads: 4, headDim: 80, nGroups: 2, stateSize: 72 };

/** A chunked-SSD problem of any size: xbc, in_proj rows (raw Δ), per-head parameters and a random state. */
export function ssdCase(d: SsdDims, T: number, seed: number) {
  const { numHeads: h, headDim: p, nGroups: g, stateSize: n } = d;
  const di = h * p;
  const cd = di + 2 * g * n;
  const ldp = di + cd + h + 3;
  const r = uniformRandom(seed);
  const params = { dtBias: r(h), aLog: r(h), d: r(h) };
  // dt_bias at 5, A_log after it, D after that (no tensor at offset 0).
  const flat = new Float32Array(5 + 3 * h);
  flat.set(params.dtBias, 5);
  flat.set(params.aLog, 5 + h);
  flat.set(params.d, 5 + 2 * h);
  const xbc = r(T * cd);
  const proj = r(T * ldp, 3);
  const ssmOff = 3;
  const state = new Float32Array(ssmOff + h * p * n + h);
  state.set(r(h * p * n, 0.5), ssmOff);
  state.set(r(h).map(Math.abs), ssmOff + h * p * n);
  const want = {
    ssm: Float64Array.from(state.subarray(ssmOff, ssmOff + h * p * n)),
    dtSum: Float64Array.from(state.subarray(ssmOff + h * p * n)),
  };
  const y = ssdScan(xbc, proj, ldp, di + cd, T, d, { ...params, timeStepLimit: LIMIT }, want);
  const layout = {
    LDP: ldp,
    DT_COL: di + cd,
    DT_MIN: LIMIT[0],
    DT_MAX: LIMIT[1],
    DTB_OFF: 5,
    A_OFF: 5 + h,
    D_OFF: 5 + 2 * h,
    SSM_OFF: ssmOff,
    DTS_OFF: ssmOff + h * p * n,
  };
  return { xbc, proj, flat, state, layout, ssmOff, dtsOff: ssmOff + h * p * n, want: { y, ...want } };
}

/** Runs the three passes the engine plans for `choice` (src/engine/mamba2/ssd.ts) on one case. */
export async function runSsd(
  device: GPUDevice,
  pipes: PipelineCache,
  d: SsdDims,
  T: number,
  c: ReturnType<typeof ssdCase>,
  choice: M2SsdChoice,
) {
  const { numHeads: h, headDim: p, nGroups: g, stateSize: n } = d;
  const b = new Buffers(device);
  const got = await withScope(device, async () => {
    const bufs = {
      dims: b.dims(T),
      xbc: b.storage(c.xbc),
      proj: b.storage(c.proj),
      params: b.storage(c.flat),
      cum: b.storage(T * h),
      dl: b.storage(T * h),
      cs: b.storage(ssdScratchFloats(T, { H: h, P: p, G: g, N: n }, choice)),
      state: b.storage(c.state),
      y: b.storage(T * h * p),
    };
    const steps = ssdSteps(pipes, '', { H: h, P: p, G: g, N: n }, c.layout, bufs, choice);
    return b.run(steps, T, [
      [bufs.y, T * h * p],
      [bufs.state, c.state.length],
    ]);
  });
  b.destroy();
  return got;
}

/** What a scan case must give back: y, the SSM state and Σ Δ as float64, at offsets of the state buffer. */
export interface ScanWant {
  ssmOff: number;
  dtsOff: number;
  want: { y: ArrayLike<number>; ssm: ArrayLike<number>; dtSum: ArrayLike<number> };
}

/**
 * y, the final state and Σ Δ within `tol` of the float64 answer (relative to the largest), and the state
 * buffer's three floats before the state untouched.
 */
export function expectSsd(got: Float32Array[], c: ScanWant, tol: number) {
  const [y, state] = got as [Float32Array, Float32Array];
  expect(relMaxDiff(y, c.want.y)).toBeLessThan(tol);
  expect(relMaxDiff(state.subarray(c.ssmOff, c.dtsOff), c.want.ssm)).toBeLessThan(tol);
  expect(relMaxDiff(state.subarray(c.dtsOff), c.want.dtSum)).toBeLessThan(tol);
  expect([...state.subarray(0, c.ssmOff)]).toEqual([0, 0, 0]);
}
