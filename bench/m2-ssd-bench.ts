/**
 * Mamba-2's chunked SSD scan alone, per pass (chunk_state, state_pass, chunk_scan; or chunk_cb, ssd_fused), at
 * the 130m and 2.7b shapes on one prefill chunk: the simple kernels (the software variant, and what GPUs ran
 * before the tiled ones) against the tiled kernels at each Q and N slice and the fused pair, so the GPU machine
 * decides M2_SCAN_CHUNK_GPU, M2_SCAN_SLICE_GPU and m2SsdPlan in src/engine/mamba2/decisions.ts (shape `soup`, the
 * bundled model, is SwiftShader's question). Each variant first runs once from a random state and is checked
 * against the float64 reference (ssdScan in src/engine/reference/mamba2.ts): y, the final state and Σ Δ, as
 * max |got − want| / max(1, max |want|), PASS under 1e-4 (the kernel tests' 1e-5 is for 45 tokens; here each
 * head sums over up to 512 tokens). Then each pass is timed: with timestamp queries where the device has them
 * (the passes repeated once per layer of the model in one submission, as the engine runs them, every dispatch
 * in its own compute pass; median of the runs, divided by the layers), else by the host (REPS dispatches of the
 * pass in one submission, onSubmittedWorkDone, median of the runs, divided by REPS; also with --host-timing).
 * Prints a table per shape (µs per layer, and ms per chunk summed over the model's layers as the engine's
 * profile counts them), one JSON line per (shape, variant) and a last JSON line naming the fastest tiled
 * variant per shape. Exits 1 when any check fails. The sgmm variants (chunk_state and chunk_scan on subgroup
 * matrices, f16 operands) are checked against F16_LIMIT instead, and skipped on a device without f16 subgroup
 * matrices.
 *
 *   bash bench/bundle-check.sh m2-ssd-bench && node dist-bench/m2-ssd-bench.mjs
 *   node dist-bench/m2-ssd-bench.mjs --shapes 130m --tokens 128 --runs 3 --variants simple32,tiled32  # small
 *   node dist-bench/m2-ssd-bench.mjs --shapes h33,h34,h66,h67 --variants fused  # workgroups an SM holds
 *
 * Inputs are drawn like a trained Mamba-2's: Δ = softplus(raw + dt_bias) with dt_bias the inverse softplus of
 * a log-uniform [0.001, 0.1] and raw in [−1, 1], A = −exp(A_log) with −A uniform in [1, 16], x, B, C in [−1, 1].
 */
import { profilePhase } from '../src/bench/profile.ts';
import { median } from '../src/bench/stats.ts';
import {
  M2_SSD_FUSED,
  M2_SSD_FUSED8,
  M2_SSD_FUSED_NOPREFETCH,
  m2SsdChoice,
  m2SsdFused4r,
  m2SsdSgmm,
  m2SsdSgmmRefusal,
  type M2SsdChoice,
} from '../src/engine/mamba2/decisions.ts';
import { openNodeDevice } from '../src/engine/gpu/node.ts';
import { encodeDispatches, PipelineCache, type Dispatch } from '../src/engine/kernels/pipelines.ts';
import { writeUniform } from '../src/engine/kernels/uniforms.ts';
import { ssdSteps, type SsdBuffers, type SsdLayout, type SsdShape } from '../src/engine/mamba2/ssd.ts';
import { ssdScan } from '../src/engine/reference/mamba2.ts';
import { relMaxDiff } from './compare.ts';

const SHAPES: Record<string, SsdShape & { layers: number }> = {
  '130m': { H: 24, P: 64, G: 1, N: 128, layers: 24 },
  '2.7b': { H: 80, P: 64, G: 1, N: 128, layers: 64 },
  // The bundled soup-mamba2-4.5m (SwiftShader's case: the tests and the page's software adapter).
  soup: { H: 8, P: 64, G: 1, N: 64, layers: 8 },
};
const VARIANTS: Record<string, M2SsdChoice> = {
  simple32: m2SsdChoice('software', 32),
  tiled16: m2SsdChoice('hardware', 16, 16),
  tiled32: m2SsdChoice('hardware', 32, 16),
  tiled32nk8: m2SsdChoice('hardware', 32, 8),
  tiled48: m2SsdChoice('hardware', 48, 16),
  tiled64: m2SsdChoice('hardware', 64, 16),
  tiled64nk8: m2SsdChoice('hardware', 64, 8),
  fused: M2_SSD_FUSED,
  fused8: M2_SSD_FUSED8,
  fusednp: M2_SSD_FUSED_NOPREFETCH,
  // The passes on subgroup matrices (f16 operands): run where the device has them, else reported as skipped.
  sgmm32: m2SsdSgmm(32),
  sgmm64: m2SsdSgmm(64),
};
const LIMIT = 1e-4;
// The variants on subgroup matrices round x, B, C, the entering states and M to f16 (2^-11 each): the kernel
// tests measured 5.6e-4 at 70 tokens, and a head here sums over up to 512.
const F16_LIMIT = 3e-3;
const REPS = 20;
// The three passes' labels, then the fused pair's (ssdSteps); a variant's absent passes count 0.
const PASSES = ['chunk_state', 'state_pass', 'chunk_scan', 'chunk_cb', 'ssd_fused'] as const;

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

function random(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One problem at a shape: inputs laid out as the engine has them, and the float64 answer. */
function makeCase(s: SsdShape, T: number) {
  const { H, P, G, N } = s;
  const next = random(1234 + H);
  const u = (lo: number, hi: number) => lo + (hi - lo) * next();
  const DI = H * P;
  const CD = DI + 2 * G * N;
  const LDP = DI + CD + H;
  const xbc = Float32Array.from({ length: T * CD }, () => u(-1, 1));
  const proj = new Float32Array(T * LDP);
  for (let t = 0; t < T; t++) for (let h = 0; h < H; h++) proj[t * LDP + DI + CD + h] = u(-1, 1);
  const dtBias = Float32Array.from({ length: H }, () => {
    const dt = Math.exp(u(Math.log(0.001), Math.log(0.1)));
    return Math.log(Math.expm1(dt));
  });
  const aLog = Float32Array.from({ length: H }, () => Math.log(u(1, 16)));
  const d = Float32Array.from({ length: H }, () => u(0.5, 1.5));
  const params = new Float32Array(3 * H);
  params.set(dtBias, 0);
  params.set(aLog, H);
  params.set(d, 2 * H);
  const state = new Float32Array(H * P * N + H);
  for (let i = 0; i < H * P * N; i++) state[i] = u(-0.5, 0.5);
  for (let h = 0; h < H; h++) state[H * P * N + h] = u(0, 2);
  const layout: SsdLayout = {
    LDP,
    DT_COL: DI + CD,
    DT_MIN: 0,
    DT_MAX: 3.4028234e38,
    DTB_OFF: 0,
    A_OFF: H,
    D_OFF: 2 * H,
    SSM_OFF: 0,
    DTS_OFF: H * P * N,
  };
  const want = {
    ssm: Float64Array.from(state.subarray(0, H * P * N)),
    dtSum: Float64Array.from(state.subarray(H * P * N)),
  };
  const dims = { numHeads: H, headDim: P, nGroups: G, stateSize: N };
  const p = { dtBias, aLog, d, timeStepLimit: [0, Infinity] as const };
  const y = ssdScan(xbc, proj, LDP, DI + CD, T, dims, p, want);
  return { xbc, proj, params, state, layout, want: { y, ...want } };
}

async function read(device: GPUDevice, src: GPUBuffer, floats: number): Promise<Float32Array> {
  const r = device.createBuffer({
    size: 4 * floats,
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  const enc = device.createCommandEncoder();
  enc.copyBufferToBuffer(src, 0, r, 0, 4 * floats);
  device.queue.submit([enc.finish()]);
  await r.mapAsync(GPUMapMode.READ);
  const out = new Float32Array(r.getMappedRange().slice(0));
  r.destroy();
  return out;
}

/** Host timing of one pass: REPS dispatches in one submission, per dispatch, median of `runs`. */
async function hostTime(device: GPUDevice, step: Dispatch, T: number, runs: number): Promise<number> {
  const once = async () => {
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    for (let r = 0; r < REPS; r++) encodeDispatches(pass, [step], T);
    pass.end();
    const t0 = performance.now();
    device.queue.submit([enc.finish()]);
    await device.queue.onSubmittedWorkDone();
    return (performance.now() - t0) / REPS;
  };
  await once();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push(await once());
  return median(times);
}

const dev = await openNodeDevice();
const device = dev.device;
// Four state rows an invocation, its butterfly across this device's subgroups.
VARIANTS.fused4r = m2SsdFused4r(dev.subgroupMinSize);
VARIANTS['fused4r-np'] = { ...VARIANTS.fused4r, prefetch: false };
const pipes = PipelineCache.forDevice(device);
const T = Number(arg('tokens', '512'));
const runs = Math.max(1, Number(arg('runs', '30')));
const shapeNames = arg('shapes', '130m,2.7b').split(',');
const variantNames = arg('variants', Object.keys(VARIANTS).join(',')).split(',');
// --ablate 1,2,3: the fused kernel with those ABLATE bits (shaders/m2_ssd_fused.wgsl: 1 (a), 2 (b), 4 the
// staging loads, 8 the exps left out), timed to see what each part costs; their results are wrong by design, so
// their checks are printed but do not fail the run.
for (const bits of arg('ablate', '').split(',').filter(Boolean)) {
  const name = `fused-a${Number(bits)}`;
  VARIANTS[name] = { ...M2_SSD_FUSED, ablate: Number(bits) };
  variantNames.push(name);
}
for (const v of variantNames)
  if (!VARIANTS[v]) throw new Error(`unknown variant ${v}: ${Object.keys(VARIANTS).join(', ')}`);
for (const s of shapeNames) {
  // h<n>: the 130m / 2.7b head shape with n heads (timed as 16 layers), to see how the time steps with the
  // number of workgroups (ceil(P / 16) · n for the fused kernel): where it jumps tells how many workgroups
  // an SM holds at once.
  const heads = /^h(\d+)$/.exec(s);
  if (heads) SHAPES[s] = { H: Number(heads[1]), P: 64, G: 1, N: 128, layers: 16 };
  if (!SHAPES[s]) throw new Error(`unknown shape ${s}: ${Object.keys(SHAPES).join(', ')}, h<heads>`);
}
const useTimestamps = dev.hasTimestamps && !process.argv.includes('--host-timing');
const timing = useTimestamps ? 'timestamps' : 'host';
console.log(JSON.stringify({ adapter: dev.adapterInfo, software: dev.isSoftware, timing, tokens: T, runs }));

let failed = 0;
const best: Record<string, { variant: string; q: number; nk: number; fused: boolean; us: number }> = {};
for (const shapeName of shapeNames) {
  const shape = SHAPES[shapeName]!;
  const { H, P, N } = shape;
  const c = makeCase(shape, T);
  const made: GPUBuffer[] = [];
  const storage = (data: Float32Array | number) => {
    const bytes = typeof data === 'number' ? 4 * data : data.byteLength;
    const b = device.createBuffer({
      size: Math.ceil(bytes / 16) * 16,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC,
    });
    if (typeof data !== 'number') device.queue.writeBuffer(b, 0, data);
    made.push(b);
    return b;
  };
  const dims = device.createBuffer({ size: 16, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  made.push(dims);
  writeUniform(device.queue, dims, 'm2_conv', 'dims', { T, pos0: 0 });
  const base = {
    dims,
    xbc: storage(c.xbc),
    proj: storage(c.proj),
    params: storage(c.params),
    cum: storage(T * H),
    dl: storage(T * H),
    cs: storage(Math.ceil(T / 16) * H * P * N), // enough for every variant (ssdScratchFloats)
    y: storage(T * H * P),
  };
  const rows: string[] = [];
  for (const name of variantNames) {
    const choice = VARIANTS[name]!;
    const limit = choice.sgmm === true ? F16_LIMIT : LIMIT;
    const refusal = choice.sgmm === true ? m2SsdSgmmRefusal('f16', dev.subgroupMatrix, choice.q) : undefined;
    if (refusal !== undefined) {
      console.log(`SKIP ${shapeName} ${name}: the SSD on subgroup matrices ${refusal}`);
      continue;
    }
    const b: SsdBuffers = { ...base, state: storage(c.state) };
    const steps = ssdSteps(pipes, '', shape, c.layout, b, choice);
    device.pushErrorScope('validation');
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    encodeDispatches(pass, steps, T);
    pass.end();
    device.queue.submit([enc.finish()]);
    const y = await read(device, b.y, T * H * P);
    const st = await read(device, b.state, c.state.length);
    const gpuError = await device.popErrorScope();
    const errs = {
      y: relMaxDiff(y, c.want.y),
      state: relMaxDiff(st.subarray(0, H * P * N), c.want.ssm),
      dtSum: relMaxDiff(st.subarray(H * P * N), c.want.dtSum),
    };
    const err = Math.max(errs.y, errs.state, errs.dtSum);
    const pass_ = !gpuError && err < limit;
    if (!pass_ && choice.ablate === undefined) failed++;
    const us: Record<string, number> = {};
    if (useTimestamps) {
      // The passes once per layer of the model, as the engine runs them: a few dispatches alone left the H200 idle
      // between them and timed the 2.7b shape at up to five times the engine's figure for the same kernels
      // (bench/runs/2026-12-04-h200-session7). Per layer is the sum over the layers divided by their count.
      const layered = Array.from({ length: shape.layers }, () => steps).flat();
      const prof = await profilePhase(device, name, layered, T, runs);
      for (const k of prof.kernels) us[k.kernel] = (k.ms * 1000) / shape.layers;
    } else {
      for (const step of steps) us[step.label] = (await hostTime(device, step, T, runs)) * 1000;
    }
    const total = PASSES.reduce((a, p) => a + (us[p] ?? 0), 0);
    const detail = Object.entries(errs)
      .map(([k, v]) => `${k} ${v.toExponential(2)}`)
      .join(', ');
    console.log(
      `${choice.ablate !== undefined ? 'ABLATED' : pass_ ? 'PASS' : 'FAIL'} ${shapeName} ${name}: max rel err ${detail} (limit ${limit})` +
        (gpuError ? ` GPU error: ${gpuError.message}` : ''),
    );
    console.log(
      JSON.stringify({
        shape: shapeName,
        variant: name,
        tiled: choice.tiled,
        sgmm: choice.sgmm === true,
        q: choice.q,
        tokens: T,
        timing,
        usPerLayer: Object.fromEntries(PASSES.map((p) => [p, +(us[p] ?? 0).toFixed(2)])),
        totalUsPerLayer: +total.toFixed(2),
        msPerChunk: +((total * shape.layers) / 1000).toFixed(3),
        // The algorithm's useful work per layer: chunk_state and C·entering (P·N each per token and head), the
        // unmasked half of C·Bᵀ (Q·N / 2) and of M·x (Q·P / 2); 2 flops per multiply-add.
        tflops: Number(((2 * T * H * (2 * P * N + (choice.q * (N + P)) / 2)) / (total * 1e6)).toPrecision(3)),
        maxRelErr: errs,
        pass: pass_,
      }),
    );
    rows.push(
      [name.padEnd(9), ...PASSES.map((p) => (us[p] ?? 0).toFixed(1).padStart(11))]
        .concat([total.toFixed(1).padStart(9), ((total * shape.layers) / 1000).toFixed(2).padStart(10)])
        .concat([err.toExponential(2).padStart(9), pass_ ? 'PASS' : 'FAIL'])
        .join(' '),
    );
    if (choice.tiled && pass_ && (!best[shapeName] || total < best[shapeName]!.us))
      best[shapeName] = {
        variant: name,
        q: choice.q,
        nk: choice.nk,
        fused: choice.fused,
        us: +total.toFixed(2),
      };
  }
  console.log(
    `\n${shapeName} (H ${H}, P ${P}, N ${N}, ${shape.layers} layers), ${T} tokens, µs per layer (${timing}):`,
  );
  console.log(`variant   ${PASSES.map((p) => p.padStart(11)).join(' ')}     total ms/chunk   max err`);
  for (const r of rows) console.log(r);
  console.log('');
  for (const b of made) b.destroy();
}
console.log(
  JSON.stringify({
    fastestTiled: best,
    decides: 'M2_SCAN_CHUNK_GPU (q) and M2_SCAN_SLICE_GPU (nk) in src/engine/mamba2/decisions.ts',
  }),
);
process.exit(failed > 0 ? 1 : 0);
