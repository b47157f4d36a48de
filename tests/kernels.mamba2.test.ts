/**
 * The Mamba-2 kernels on a real adapter against the float64 reference (src/engine/reference/mamba2.ts), each
 * within a relative 1e-5 of the largest expected value (f32 arithmetic on values of order 1; the scans run up
 * to 100 tokens): the grouped depthwise conv with its conv state (d_conv 4 and 3, chunks shorter than the
 * state), the one-token step, the gated RMSNorm (all of d_inner as transformers does, and per group as
 * mamba_ssm does; one channel at a time and four) and the three-pass chunked SSD scan with the final state and Σ Δ, as the engine plans it
 * (src/engine/mamba2/ssd.ts) for both kernel variants: the simple kernels (software) and the tiled ones
 * (hardware, Q = 16 … 64, N staged in slices of 8 or 16). Every scan has two groups of two heads, a clamped
 * Δ and a random starting state; T = 1, T < Q, T a multiple of Q and not (a partial last chunk), and a wider
 * shape (P 80, N 72) whose 64-wide tiles are partial in both P and N.
 *
 * On SwiftShader the simple kernels stay faster, so the software variant keeps them: bench/m2-ssd-bench.ts
 * --shapes soup --tokens 128 (the bundled model's shape), ms per layer on this 2-core machine under load,
 * two runs: simple 757–779 (state pass 11–13), tiled Q=32 1,272–1,290 (state pass 228), Q=64 1,190–1,214.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { EngineDevice } from '../src/engine/gpu/device.ts';
import { openNodeDevice } from '../src/engine/gpu/node.ts';
import { PipelineCache } from '../src/engine/kernels/pipelines.ts';
import {
  gatedNormKernel,
  m2ConvKernel,
  M2_SSD_FUSED,
  M2_SSD_FUSED8,
  M2_SSD_FUSED_NOPREFETCH,
  m2SsdFused4r,
  m2SsdChoice,
  type M2SsdChoice,
} from '../src/engine/mamba2/decisions.ts';
import { causalConv, gatedRmsNorm, silu, ssdScan } from '../src/engine/reference/mamba2.ts';
import { relMaxDiff } from './helpers/fixtures.ts';
import { withScope } from './helpers/gpu.ts';
import { Buffers, uniformRandom } from './helpers/mamba2Buffers.ts';
import { expectSsd, LIMIT, runSsd, ssdCase, WIDE } from './helpers/ssdCase.ts';

const TOL = 1e-5;

let dev: EngineDevice;
let pipes: PipelineCache;
beforeAll(async () => {
  dev = await openNodeDevice();
  pipes = PipelineCache.forDevice(dev.device);
});

// Two groups of two heads; in_proj's output rows are z | x B C | dt | 3 spare columns (so strides are not sizes).
const H = 4;
const P = 8;
const G = 2;
const N = 12;
const DI = H * P;
const CD = DI + 2 * G * N;
const LDP = DI + CD + H + 3;
const DT_COL = DI + CD;

/** A layer's parameters as the kernels read them: one buffer, each tensor at an offset (none at 0). */
function layerParams(r: ReturnType<typeof uniformRandom>, dc: number) {
  const parts = {
    convW: r(CD * dc),
    convB: r(CD),
    dtBias: r(H),
    aLog: r(H),
    d: r(H),
    norm: r(DI).map((v) => 1 + 0.5 * v),
  };
  const offsets: Record<keyof typeof parts, number> = {} as never;
  let at = 5;
  for (const [k, v] of Object.entries(parts)) {
    offsets[k as keyof typeof parts] = at;
    at += v.length;
  }
  const flat = new Float32Array(at);
  for (const [k, v] of Object.entries(parts)) flat.set(v, offsets[k as keyof typeof parts]);
  return { parts, offsets, flat };
}

const dims = { numHeads: H, headDim: P, nGroups: G, stateSize: N };

describe('Mamba-2 grouped depthwise conv (m2_conv)', () => {
  for (const dc of [4, 3]) {
    for (const T of [1, 2, 13]) {
      it(`d_conv ${dc}, ${T} tokens: outputs and the new conv state`, async () => {
        const r = uniformRandom(100 * dc + T);
        const { parts, offsets, flat } = layerParams(r, dc);
        const proj = r(T * LDP);
        const stateOff = 7;
        const state = r(stateOff + CD * (dc - 1));
        const b = new Buffers(dev.device);
        const [gotXbc, gotState] = await withScope(dev.device, async () => {
          const xbc = b.storage(T * CD);
          const st = b.storage(state);
          const k = pipes.kernel('m2_conv', {
            CD,
            DC: dc,
            LDP,
            XBC_COL: DI,
            HAS_BIAS: true,
            CW_OFF: offsets.convW,
            CB_OFF: offsets.convB,
            CONV_OFF: stateOff,
          });
          const step = k.dispatch(
            'conv',
            { dims: b.dims(T), proj: b.storage(proj), params: b.storage(flat), state: st, xbc },
            (t) => [Math.ceil(CD / 64), Math.ceil(t / 8), 1],
          );
          return b.run([step], T, [
            [xbc, T * CD],
            [st, state.length],
          ]);
        });
        b.destroy();
        const wantState = Float64Array.from(state.subarray(stateOff));
        const want = causalConv(proj, T, LDP, DI, CD, dc, parts.convW, parts.convB, wantState);
        expect(relMaxDiff(gotXbc!, want)).toBeLessThan(TOL);
        expect(relMaxDiff(gotState!.subarray(stateOff), wantState)).toBeLessThan(TOL);
        expect([...gotState!.subarray(0, stateOff)]).toEqual([...state.subarray(0, stateOff)]);
      });
    }
  }
});

describe('Mamba-2 conv, four channels and four tokens an invocation (m2_conv4, d_conv 4)', () => {
  // 308 channels: two workgroups of 64 × 4 along x, the second partly idle; 1 to 13 tokens: tiles of 4 with a
  // partial last one, and chunks shorter than the 3 inputs the state keeps (the new state then mixes the old
  // state and the chunk). xBC starts at column 12 of a 340-wide row, so a wrong offset or stride shows.
  const cd = 308;
  const ldp = 340;
  const xbcCol = 12;
  for (const T of [1, 2, 3, 5, 13]) {
    it(`${T} tokens, ${cd} channels: outputs and the new conv state`, async () => {
      expect(m2ConvKernel('vec4', 4, cd, ldp, xbcCol)).toBe('m2_conv4');
      const r = uniformRandom(900 + T);
      const convW = r(cd * 4);
      const convB = r(cd);
      const cwOff = 5;
      const cbOff = cwOff + convW.length + 1;
      const flat = new Float32Array(cbOff + cd);
      flat.set(convW, cwOff);
      flat.set(convB, cbOff);
      const proj = r(T * ldp);
      const stateOff = 7;
      const state = r(stateOff + cd * 3);
      const b = new Buffers(dev.device);
      const [gotXbc, gotState] = await withScope(dev.device, async () => {
        const xbc = b.storage(T * cd);
        const st = b.storage(state);
        const k = pipes.kernel('m2_conv4', {
          CD: cd,
          LDP: ldp,
          XBC_COL: xbcCol,
          HAS_BIAS: true,
          CW_OFF: cwOff,
          CB_OFF: cbOff,
          CONV_OFF: stateOff,
        });
        const step = k.dispatch(
          'conv4',
          { dims: b.dims(T), proj: b.storage(proj), params: b.storage(flat), state: st, xbc },
          (t) => [Math.ceil(cd / 256), Math.ceil(t / 4), 1],
        );
        return b.run([step], T, [
          [xbc, T * cd],
          [st, state.length],
        ]);
      });
      b.destroy();
      const wantState = Float64Array.from(state.subarray(stateOff));
      const want = causalConv(proj, T, ldp, xbcCol, cd, 4, convW, convB, wantState);
      expect(relMaxDiff(gotXbc!, want)).toBeLessThan(TOL);
      expect(relMaxDiff(gotState!.subarray(stateOff), wantState)).toBeLessThan(TOL);
      expect([...gotState!.subarray(0, stateOff)]).toEqual([...state.subarray(0, stateOff)]);
    });
  }
  it('only for d_conv 4 and vec4-aligned columns, and only when asked', () => {
    expect(m2ConvKernel('vec4', 3, cd, ldp, xbcCol)).toBe('m2_conv');
    expect(m2ConvKernel('vec4', 4, cd, ldp + 1, xbcCol)).toBe('m2_conv');
    expect(m2ConvKernel('vec4', 4, cd, ldp, xbcCol + 2)).toBe('m2_conv');
    expect(m2ConvKernel('scalar', 4, cd, ldp, xbcCol)).toBe('m2_conv');
  });
});

/** One scan problem: conv outputs, in_proj rows (raw Δ), parameters and a random starting state. */
function scanCase(T: number, seed: number) {
  const r = uniformRandom(seed);
  const { parts, offsets, flat } = layerParams(r, 4);
  const xbc = r(T * CD);
  const proj = r(T * LDP, 3);
  const ssmOff = 3;
  const state = new Float32Array(ssmOff + H * P * N + H);
  state.set(r(H * P * N, 0.5), ssmOff);
  state.set(r(H).map(Math.abs), ssmOff + H * P * N);
  const want = {
    ssm: Float64Array.from(state.subarray(ssmOff, ssmOff + H * P * N)),
    dtSum: Float64Array.from(state.subarray(ssmOff + H * P * N)),
  };
  const p = { dtBias: parts.dtBias, aLog: parts.aLog, d: parts.d, timeStepLimit: LIMIT };
  const y = ssdScan(xbc, proj, LDP, DT_COL, T, dims, p, want);
  return { xbc, proj, flat, offsets, state, ssmOff, dtsOff: ssmOff + H * P * N, want: { y, ...want } };
}

const common = { H, P, G, N, DT_MIN: LIMIT[0], DT_MAX: LIMIT[1] };

describe('Mamba-2 SSM step (m2_scan_step)', () => {
  for (const T of [1, 5]) {
    it(`${T} token(s) from a random state: y, the state and Σ Δ`, async () => {
      const c = scanCase(T, 7 + T);
      const b = new Buffers(dev.device);
      const got = await withScope(dev.device, async () => {
        const y = b.storage(T * DI);
        const st = b.storage(c.state);
        const k = pipes.kernel('m2_scan_step', {
          ...common,
          LDP,
          DT_COL,
          DTB_OFF: c.offsets.dtBias,
          A_OFF: c.offsets.aLog,
          D_OFF: c.offsets.d,
          SSM_OFF: c.ssmOff,
          DTS_OFF: c.dtsOff,
        });
        const step = k.dispatch(
          'step',
          {
            dims: b.dims(T),
            xbc: b.storage(c.xbc),
            proj: b.storage(c.proj),
            params: b.storage(c.flat),
            state: st,
            y,
          },
          () => [Math.ceil(DI / 64), 1, 1],
        );
        return b.run([step], T, [
          [y, T * DI],
          [st, c.state.length],
        ]);
      });
      b.destroy();
      expectSsd(got, c, TOL);
    });
  }
});

/**
 * One decode problem of any size: in_proj's row (z | x B C | dt | 3 spare columns), the conv output, the layer's
 * parameters at offsets and a random state; the reference y (ssdScan, T = 1) times silu(z), the gate.
 */
function decodeCase(d: typeof dims, seed: number) {
  const { numHeads: h, headDim: p, nGroups: g, stateSize: n } = d;
  const di = h * p;
  const cd = di + 2 * g * n;
  const ldp = di + cd + h + 3;
  const r = uniformRandom(seed);
  const xbc = r(cd);
  const proj = r(ldp, 3);
  const [dtbOff, aOff, dOff] = [2, 2 + h, 2 + 2 * h];
  const params = { dtBias: r(h), aLog: r(h), d: r(h), timeStepLimit: LIMIT };
  const flat = new Float32Array(2 + 3 * h);
  flat.set(params.dtBias, dtbOff);
  flat.set(params.aLog, aOff);
  flat.set(params.d, dOff);
  const ssmOff = 5;
  const dtsOff = ssmOff + di * n;
  const state = new Float32Array(dtsOff + h);
  state.set(r(di * n, 0.5), ssmOff);
  state.set(r(h).map(Math.abs), dtsOff);
  const want = {
    ssm: Float64Array.from(state.subarray(ssmOff, dtsOff)),
    dtSum: Float64Array.from(state.subarray(dtsOff)),
  };
  const y = ssdScan(xbc, proj, ldp, di + cd, 1, d, params, want);
  const gated = y.map((v, i) => v * silu(proj[i]!));
  const consts = {
    H: h,
    P: p,
    G: g,
    N: n,
    DT_MIN: LIMIT[0],
    DT_MAX: LIMIT[1],
    DT_COL: di + cd,
    Z_COL: 0,
    DTB_OFF: dtbOff,
    A_OFF: aOff,
    D_OFF: dOff,
    SSM_OFF: ssmOff,
    DTS_OFF: dtsOff,
  };
  return { xbc, proj, flat, state, ssmOff, dtsOff, consts, want: { gated, ...want } };
}

describe('Mamba-2 decode step with the gate (m2_scan_decode, m2_scan_decode_sg)', () => {
  // N 12 leaves most of the 64 lanes idle; N 130 takes three passes over n, the last one partial; 3 rows per
  // workgroup leave a partial block (P 8, P 5).
  const shapes = [
    { name: 'N 12, two groups of two heads', d: dims },
    { name: 'N 130, 3 heads in one group', d: { numHeads: 3, headDim: 5, nGroups: 1, stateSize: 130 } },
  ];
  for (const kernel of ['m2_scan_decode', 'm2_scan_decode_sg'] as const) {
    for (const shape of shapes) {
      for (const rows of [1, 3, 4]) {
        it(`${kernel}, ${shape.name}, ${rows} row(s) per workgroup: y · silu(z), the state and Σ Δ`, async (ctx) => {
          if (kernel === 'm2_scan_decode_sg' && !dev.hasSubgroups) ctx.skip();
          const c = decodeCase(shape.d, 90 + rows + shape.d.stateSize);
          const { numHeads: h, headDim: p } = shape.d;
          const b = new Buffers(dev.device);
          const [gated, state] = await withScope(dev.device, async () => {
            const out = b.storage(h * p);
            const st = b.storage(c.state);
            const k = pipes.kernel(kernel, { ...c.consts, ROWS: rows });
            const step = k.dispatch(
              'decode',
              { xbc: b.storage(c.xbc), proj: b.storage(c.proj), params: b.storage(c.flat), state: st, out },
              () => [Math.ceil(p / rows), h, 1],
            );
            return b.run([step], 1, [
              [out, h * p],
              [st, c.state.length],
            ]);
          });
          b.destroy();
          expect(relMaxDiff(gated!, c.want.gated)).toBeLessThan(TOL);
          expect(relMaxDiff(state!.subarray(c.ssmOff, c.dtsOff), c.want.ssm)).toBeLessThan(TOL);
          expect(relMaxDiff(state!.subarray(c.dtsOff), c.want.dtSum)).toBeLessThan(TOL);
          expect([...state!.subarray(0, c.ssmOff)]).toEqual([0, 0, 0, 0, 0]);
        });
      }
    }
  }
});

// The engine's shape family in small: 2 groups of 2 heads; `wide` (WIDE) spans two 64-blocks of P and of N,
// both partial, so the tiled kernels' block edges are exercised too.
const small = dims;
const wide = WIDE;

describe('Mamba-2 chunked SSD scan (three passes m2_ssd_chunk_state → m2_ssd_state_pass → m2_ssd_chunk_scan, or fused m2_ssd_cb → m2_ssd_fused)', () => {
  const cases: [string, typeof dims, number, M2SsdChoice][] = [];
  for (const [T, Q] of [
    [1, 16],
    [16, 16],
    [45, 16],
    [45, 32],
    [7, 32],
  ] as const) {
    cases.push(['software', small, T, m2SsdChoice('software', Q)]);
  }
  for (const [T, Q] of [
    [1, 32],
    [7, 32],
    [16, 16],
    [45, 16],
    [45, 32],
    [64, 32],
    [45, 48],
    [45, 64],
    [100, 64],
  ] as const) {
    cases.push(['hardware', small, T, m2SsdChoice('hardware', Q)]);
  }
  cases.push(['hardware', small, 45, m2SsdChoice('hardware', 32, 8)]);
  cases.push(['software', wide, 45, m2SsdChoice('software', 32)]);
  cases.push(['hardware', wide, 45, m2SsdChoice('hardware', 32)]);
  cases.push(['hardware', wide, 70, m2SsdChoice('hardware', 64)]);
  cases.push(['hardware', wide, 70, m2SsdChoice('hardware', 64, 8)]);
  // The fused pair: partial last chunks, one token, P in blocks of 16 (wide's 80 = 5 blocks; small's 8 leaves
  // half of a block idle), N of 12 and 72 (short of the 128 staged).
  for (const T of [1, 16, 45]) cases.push(['fused', small, T, M2_SSD_FUSED]);
  cases.push(['fused', wide, 70, M2_SSD_FUSED]);
  // The same with 8 rows a workgroup (small's P of 8 is one whole block; wide's 80 is 10).
  for (const T of [1, 45]) cases.push(['fused8', small, T, M2_SSD_FUSED8]);
  cases.push(['fused8', wide, 70, M2_SSD_FUSED8]);
  // And with each chunk's values loaded at its start (no prefetch of the next chunk).
  for (const T of [1, 45]) cases.push(['fused-noprefetch', small, T, M2_SSD_FUSED_NOPREFETCH]);
  cases.push(['fused-noprefetch', wide, 70, M2_SSD_FUSED_NOPREFETCH]);
  // Four rows an invocation (m2_ssd_fused4r): its butterfly over the 32 invocations of a row block with
  // shuffles across the device's subgroups (SwiftShader's 4: masks 1 and 2) and the rest through workgroup memory,
  // and all of it through memory (span 1). Wide's 80 rows are 5 blocks of 16, each 4 blocks of 4 rows; small's 8
  // leave two of the four idle; N 12 and 72 leave most of the 32 groups of 4 n zero.
  for (const sgs of [4, 1]) {
    const choice = { ...m2SsdFused4r(sgs), sgs };
    for (const T of [1, 16, 45]) cases.push([`fused4r span ${sgs}`, small, T, choice]);
    cases.push([`fused4r span ${sgs}`, wide, 70, choice]);
  }
  // And at this device's own span, as the engine plans it (32 on NVIDIA: every round a shuffle).
  it('fused4r at the device span: 70 tokens (P 80, N 72) from a random state', async () => {
    const choice = m2SsdFused4r(dev.subgroupMinSize);
    const c = ssdCase(wide, 70, 7);
    expectSsd(await runSsd(dev.device, pipes, wide, 70, c, choice), c, TOL);
  });
  for (const [variant, d, T, choice] of cases) {
    const shape = `H ${d.numHeads}, P ${d.headDim}, G ${d.nGroups}, N ${d.stateSize}`;
    const slice = choice.fused
      ? ', the state in registers'
      : choice.tiled
        ? `, N slices of ${choice.nk}`
        : '';
    it(`${variant}: ${T} tokens in chunks of ${choice.q}${slice} (${shape}) from a random state: y, the final state and Σ Δ`, async () => {
      const c = ssdCase(d, T, 31 + T + choice.q + d.headDim);
      const got = await runSsd(dev.device, pipes, d, T, c, choice);
      expectSsd(got, c, TOL);
    });
  }
});

describe('Mamba-2 gated RMSNorm (m2_gated_norm, m2_gated_norm_v4, m2_gated_norm_keep)', () => {
  // The vec4 variants need in_proj's row stride and z's column to be multiples of 4 (gatedNormKernel); their
  // cases put z at column 4 of a 120-wide row, so a wrong offset or stride reads the wrong channels. The kept
  // variant runs at 1 and 2 invocations a group, so its 8 vec4s (groups of 32 channels) fill all eight slots or
  // four, and groups of 16 leave slots past the group's end, which must neither load nor store.
  const cases = [
    { kernel: 'm2_gated_norm', ldp: LDP, zCol: 0, form: 'loop', wg: 0 },
    { kernel: 'm2_gated_norm_v4', ldp: LDP + 1, zCol: 4, form: 'loop', wg: 0 },
    { kernel: 'm2_gated_norm_keep', ldp: LDP + 1, zCol: 4, form: 'keep', wg: 1 },
    { kernel: 'm2_gated_norm_keep', ldp: LDP + 1, zCol: 4, form: 'keep', wg: 2 },
  ] as const;
  it('m2_gated_norm_keep only where a group fits its slots', () => {
    expect(gatedNormKernel(DI, DI, LDP + 1, 4, 'keep', 1)).toBe('m2_gated_norm_keep');
    expect(gatedNormKernel(2 * DI, 2 * DI, LDP + 1, 4, 'keep', 1)).toBe('m2_gated_norm_v4');
    expect(gatedNormKernel(5120, 5120, 10576, 0, 'keep', 256)).toBe('m2_gated_norm_keep');
    expect(gatedNormKernel(5120, 5120, 10576, 0, 'loop', 256)).toBe('m2_gated_norm_v4');
    expect(gatedNormKernel(DI, DI, LDP, 0, 'keep', 1)).toBe('m2_gated_norm');
  });
  for (const { kernel, ldp, zCol, form, wg } of cases) {
    for (const groups of [1, G]) {
      it(`${kernel}: groups of ${DI / groups} channels, z at column ${zCol} of ${ldp}${wg ? `, ${wg} invocation(s) a group` : ''}`, async () => {
        const T = 3;
        const r = uniformRandom(50 + groups);
        const { parts, offsets, flat } = layerParams(r, 4);
        const y = r(T * DI, 2);
        const proj = r(T * ldp, 3);
        const gs = DI / groups;
        const wgUsed = wg || (dev.isSoftware ? 4 : 64);
        expect(gatedNormKernel(DI, gs, ldp, zCol, form, wgUsed)).toBe(kernel);
        const b = new Buffers(dev.device);
        const [got] = await withScope(dev.device, async () => {
          const out = b.storage(T * DI);
          const k = pipes.kernel(kernel, {
            DI,
            GS: gs,
            LDP: ldp,
            Z_COL: zCol,
            W_OFF: offsets.norm,
            EPS: 1e-5,
            WG: wgUsed,
          });
          const step = k.dispatch(
            'gated norm',
            { dims: b.dims(T), y: b.storage(y), proj: b.storage(proj), weight: b.storage(flat), out },
            (t) => [t, groups, 1],
          );
          return b.run([step], T, [[out, T * DI]]);
        });
        b.destroy();
        const want = new Float64Array(T * DI);
        for (let t = 0; t < T; t++) {
          const z = proj.subarray(t * ldp + zCol, t * ldp + zCol + DI);
          want.set(gatedRmsNorm(y.subarray(t * DI, (t + 1) * DI), z, parts.norm, 1e-5, gs), t * DI);
        }
        expect(relMaxDiff(got!, want)).toBeLessThan(TOL);
        // The two groupings differ on this input, so the test tells them apart.
        const z0 = proj.subarray(zCol, zCol + DI);
        const whole = gatedRmsNorm(y.subarray(0, DI), z0, parts.norm, 1e-5);
        const halves = gatedRmsNorm(y.subarray(0, DI), z0, parts.norm, 1e-5, DI / 2);
        expect(relMaxDiff(whole, halves)).toBeGreaterThan(1e-3);
      });
    }
  }
});
