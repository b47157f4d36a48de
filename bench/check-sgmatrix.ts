/**
 * Do the subgroup-matrix prefill GEMMs (shaders/gemm_sgmat*.wgsl) compute the right thing, and how fast, on
 * this adapter? Opens the adapter with Dawn's toggles for shader-f16 and subgroup matrices, prints its
 * features, subgroup sizes and subgroup-matrix configs, compiles small syntax probes, then runs every kernel
 * variant the adapter can run on ragged shapes and on mamba-130m's and mamba-2.8b's prefill shapes:
 *   - PASS/FAIL against float64 sums of the very operands the kernel multiplies (X rounded to f16, W f16) on
 *     a sample of entries (corners, edges and random ones), max |diff| / max |reference| at the stated tolerance;
 *   - the same measure against the f32 inputs (what rounding X to f16 costs; reported, not judged), and
 *     against the existing prefill GEMM (gemm_tiled, f32 X x f16 W) on every entry;
 *   - time per GEMM (median of a few batches), TFLOP/s and the share of the H200's ~990 TFLOP/s dense f16 peak,
 *     beside gemm_tiled's.
 * Needs a GPU with chromium-experimental-subgroup-matrix (not SwiftShader); elsewhere it says so and exits 2.
 *
 *   bash bench/bundle-check.sh check-sgmatrix      # writes dist-bench/check-sgmatrix.mjs
 *   node dist-bench/check-sgmatrix.mjs [--quick] [--json]
 * Exits 1 when a check fails.
 */
import { existsSync } from 'node:fs';
import { f16ToF32, f32ToF16 } from '../src/model/safetensors.ts';
import { PipelineCache } from '../src/engine/kernels/pipelines.ts';
import { uniformBytes } from '../src/engine/kernels/uniforms.ts';
import type { ShaderName } from '../src/engine/shaders.gen.ts';
import { packRowsI8, paddedRowBytes, quantizeRowsI8 } from '../src/engine/w8a8.ts';
import { argmaxRows, relMaxDiff } from './compare.ts';
import { adapterLimits, gen as rng } from './sgmm-lib.ts';
import { maxSplitFor } from '../src/engine/decisions.ts';
import { nodeGpu, openNodeDevice } from '../src/engine/gpu/node.ts';
import { createRandomEngine, randomConfig, randomHostWeights } from '../src/engine/randomWeights.ts';
import { referenceForward } from '../src/engine/reference/mamba.ts';
import { weightsAsHeld } from '../src/engine/gpu/weightMatrix.ts';

const TOGGLES = 'enable-dawn-features=allow_unsafe_apis,vulkan_enable_f16_on_nvidia';
const PEAK_F16 = 990e12;
const TOL = 1e-3;
const quick = process.argv.includes('--quick');

// Where there is no GPU (here), SwiftShader: the script then says the feature is missing and exits 2.
const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
if (!process.env['VK_ICD_FILENAMES'] && !existsSync('/dev/nvidia0') && existsSync(SWIFTSHADER_ICD)) {
  process.env['VK_ICD_FILENAMES'] = SWIFTSHADER_ICD;
}
// nodeGpu() asks Dawn for TOGGLES (src/engine/gpu/node.ts), as the CLI does.
const gpu = nodeGpu();
const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
if (!adapter) {
  console.log('FAIL no adapter');
  process.exit(2);
}
interface SgConfig {
  componentType: string;
  resultComponentType: string;
  M: number;
  N: number;
  K: number;
}
const info = adapter.info as GPUAdapterInfo & {
  subgroupMatrixConfigs?: readonly SgConfig[];
  subgroupMinSize?: number;
  subgroupMaxSize?: number;
};
const configs = [...(info.subgroupMatrixConfigs ?? [])].map((c) => ({
  componentType: c.componentType,
  resultComponentType: c.resultComponentType,
  M: c.M,
  N: c.N,
  K: c.K,
}));
console.log(`adapter: ${info.vendor} ${info.architecture} ${info.device} ${info.description}`);
console.log(`toggles: ${TOGGLES}`);
console.log(`features: ${[...adapter.features].sort().join(' ')}`);
console.log(`subgroup sizes: min ${info.subgroupMinSize} max ${info.subgroupMaxSize}`);
console.log(`subgroup-matrix configs: ${JSON.stringify(configs)}`);
const wanted = [
  'subgroups',
  'shader-f16',
  'chromium-experimental-subgroup-matrix',
  'timestamp-query',
] as const;
const features = wanted.filter((f) => adapter.features.has(f)) as GPUFeatureName[];
if (!adapter.features.has('chromium-experimental-subgroup-matrix') || !adapter.features.has('shader-f16')) {
  console.log('SKIP the adapter lacks chromium-experimental-subgroup-matrix or shader-f16: nothing to check');
  process.exit(2);
}
const requiredLimits = adapterLimits(adapter);
const device = await adapter.requestDevice({ requiredFeatures: features, requiredLimits });
device.onuncapturederror = (e) => console.log(`uncaptured GPU error: ${e.error.message}`);

// ---- syntax probes: which spellings this Dawn accepts (each compiled into a pipeline) ----
const PROBES: Record<string, string> = {
  'f16 16x16x16, template majorness': `enable f16; enable subgroups; enable chromium_experimental_subgroup_matrix;
var<workgroup> a: array<f16, 512>;
@group(0) @binding(0) var<storage, read_write> o: array<f32>;
@compute @workgroup_size(32) fn main() {
  let l = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>(&a, 0u, 16u);
  let r = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, col_major>(&a, 256u, 16u);
  var c = subgroup_matrix_result<f32, 16, 16>();
  c = subgroupMatrixMultiplyAccumulate(l, r, c);
  subgroupMatrixStore<row_major>(&o, 0u, c, 16u);
}`,
  'f16 16x16x16, bool majorness (older spelling)': `enable f16; enable subgroups; enable chromium_experimental_subgroup_matrix;
var<workgroup> a: array<f16, 512>;
@group(0) @binding(0) var<storage, read_write> o: array<f32>;
@compute @workgroup_size(32) fn main() {
  let l = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>>(&a, 0u, false, 16u);
  let r = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>>(&a, 256u, true, 16u);
  var c = subgroup_matrix_result<f32, 16, 16>();
  c = subgroupMatrixMultiplyAccumulate(l, r, c);
  subgroupMatrixStore(&o, 0u, c, false, 16u);
}`,
  'i8 16x16x32 from array<i32> (workgroup), i32 result': `enable subgroups; enable chromium_experimental_subgroup_matrix;
var<workgroup> a: array<i32, 256>;
@group(0) @binding(0) var<storage, read_write> o: array<i32>;
@compute @workgroup_size(32) fn main() {
  let l = subgroupMatrixLoad<subgroup_matrix_left<i8, 32, 16>, row_major>(&a, 0u, 32u);
  let r = subgroupMatrixLoad<subgroup_matrix_right<i8, 16, 32>, col_major>(&a, 512u, 32u);
  var c = subgroup_matrix_result<i32, 16, 16>();
  c = subgroupMatrixMultiplyAccumulate(l, r, c);
  subgroupMatrixStore<row_major>(&o, 0u, c, 16u);
}`,
  'subgroup_id builtin': `enable subgroups; enable chromium_experimental_subgroup_matrix;
@group(0) @binding(0) var<storage, read_write> o: array<u32>;
@compute @workgroup_size(64) fn main(@builtin(subgroup_id) s: u32, @builtin(local_invocation_index) i: u32) {
  o[i] = s;
}`,
  'uniformity diagnostic off (chromium.subgroup_matrix_uniformity)': `enable f16; enable subgroups; enable chromium_experimental_subgroup_matrix;
diagnostic(off, chromium.subgroup_matrix_uniformity);
var<workgroup> a: array<f16, 1024>;
@group(0) @binding(0) var<storage, read_write> o: array<f32>;
@compute @workgroup_size(64) fn main(@builtin(local_invocation_index) i: u32) {
  let l = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>(&a, (i / 32u) * 256u, 16u);
  subgroupMatrixStore<row_major>(&o, (i / 32u) * 256u, l, 16u);
}`,
};
for (const [name, code] of Object.entries(PROBES)) {
  device.pushErrorScope('validation');
  const module = device.createShaderModule({ code });
  const messages = (await module.getCompilationInfo()).messages.filter((m) => m.type === 'error');
  device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
  const err = await device.popErrorScope();
  const why = messages.map((m) => `${m.lineNum}:${m.linePos} ${m.message}`).join('; ') || err?.message;
  console.log(`probe ${err ? 'REJECTED' : 'ok'}: ${name}${err ? ` -- ${why?.split('\n')[0]}` : ''}`);
}

// ---- kernels ----
const pipes = PipelineCache.forDevice(device);
const STORAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;

function buffer(bytes: number, usage = STORAGE): GPUBuffer {
  return device.createBuffer({ size: Math.max(16, Math.ceil(bytes / 16) * 16), usage });
}
function upload(data: ArrayBufferView, usage = STORAGE): GPUBuffer {
  const b = buffer(data.byteLength, usage);
  device.queue.writeBuffer(b, 0, data.buffer, data.byteOffset, data.byteLength);
  return b;
}
async function readF32(b: GPUBuffer, floats: number): Promise<Float32Array> {
  const bytes = Math.ceil((floats * 4) / 16) * 16;
  const staging = device.createBuffer({
    size: bytes,
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  const enc = device.createCommandEncoder();
  enc.copyBufferToBuffer(b, 0, staging, 0, bytes);
  device.queue.submit([enc.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  const out = new Float32Array(staging.getMappedRange().slice(0, floats * 4));
  staging.destroy();
  return out;
}

const roundF16 = (v: number) => f16ToF32(f32ToF16(v));

interface Shape {
  name: string;
  T: number;
  N: number;
  K: number;
}

const SHAPES: Shape[] = [
  { name: 'tiny 1x16x16', T: 1, N: 16, K: 16 },
  { name: 'ragged 77x130x72', T: 77, N: 130, K: 72 },
  { name: 'ragged odd K 33x45x37', T: 33, N: 45, K: 37 },
  { name: 'ragged 200x300x1000 (K%8=0)', T: 200, N: 300, K: 1000 },
  { name: '130m in_proj 2048x3072x768', T: 2048, N: 3072, K: 768 },
  { name: '130m x_proj 2048x80x1536', T: 2048, N: 80, K: 1536 },
  { name: '130m out_proj 2048x768x1536', T: 2048, N: 768, K: 1536 },
  { name: '130m lm_head 512x50280x768', T: 512, N: 50280, K: 768 },
  { name: '2.8b in_proj 2048x10240x2560', T: 2048, N: 10240, K: 2560 },
  { name: '2.8b x_proj 2048x192x5120', T: 2048, N: 192, K: 5120 },
  { name: '2.8b out_proj 2048x2560x5120', T: 2048, N: 2560, K: 5120 },
  { name: '2.8b in_proj chunk 512x10240x2560', T: 512, N: 10240, K: 2560 },
  { name: '2.8b x_proj chunk 512x192x5120', T: 512, N: 192, K: 5120 },
];

/** The configs each f16 kernel variant multiplies with. */
const F16_VARIANTS: { kernel: ShaderName; M: number; N: number; K: number }[] = [
  { kernel: 'gemm_sgmat_f16', M: 16, N: 16, K: 16 },
  { kernel: 'gemm_sgmat_f16_k64', M: 16, N: 16, K: 16 },
];
const hasConfig = (v: { M: number; N: number; K: number }, comp: string, res: string) =>
  configs.some(
    (c) =>
      c.componentType === comp && c.resultComponentType === res && c.M === v.M && c.N === v.N && c.K === v.K,
  );

/** Split-K workgroups along z for T tokens on BM x BN tiles: the formula of include/split_count.wgsl. */
function splitCount(T: number, N: number, K: number, bm: number, bn: number, target: number): number {
  const maxSplit = Math.max(1, Math.min(16, Math.floor(Math.ceil(K / 16) / 4)));
  if (maxSplit <= 1) return 1;
  const tiles = Math.ceil(T / bm) * Math.ceil(N / bn);
  return Math.min(maxSplit, Math.max(1, Math.ceil(target / tiles)));
}

interface Run {
  ms: number;
  y: Float32Array;
}

/** Runs one GEMM kernel `reps` times per batch (3 batches) and returns the median ms per GEMM and Y. */
async function runGemm(
  kernel: ShaderName,
  consts: Record<string, number | boolean>,
  tile: { bm: number; bn: number; tm: number; tn: number },
  s: Shape,
  bufs: { X: GPUBuffer; W: GPUBuffer; bias: GPUBuffer; Y: GPUBuffer; xscale?: GPUBuffer; wscale?: GPUBuffer },
  splitTarget: number,
  reps: number,
): Promise<Run> {
  const split = splitCount(s.T, s.N, s.K, tile.bm, tile.bn, splitTarget);
  const maxSplit = splitTarget > 0 ? maxSplitFor(s.K) : 1;
  const shapeValues = {
    N: s.N,
    K: s.K,
    LDY: s.N,
    COL0: 0,
    BIAS_OFF: 0,
    HAS_BIAS: 0,
    SPLIT_TARGET: splitTarget,
    MAX_SPLIT: maxSplit,
  };
  const shape = upload(
    new Uint8Array(uniformBytes('gemm_tiled', 'shape', shapeValues)),
    GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
  );
  const dims = upload(new Uint32Array([s.T, 0, 0, 0]), GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST);
  const P = buffer(split > 1 ? split * s.T * s.N * 4 : 16);
  device.pushErrorScope('validation');
  const gemm = pipes.kernel(kernel as 'gemm_tiled', consts);
  const reduce = pipes.kernel('gemm_splitk_reduce', { TM: tile.tm, TN: tile.tn });
  const resources = { dims, X: bufs.X, W: bufs.W, bias: bufs.bias, Y: bufs.Y, P, shape };
  const g =
    kernel === 'gemm_sgmat_i8' || kernel === 'gemm_sgmat_i8b'
      ? pipes.kernel(kernel).bind('check', { ...resources, xscale: bufs.xscale!, wscale: bufs.wscale! })
      : gemm.bind('check', resources);
  const r = reduce.bind('check.reduce', { dims, bias: bufs.bias, Y: bufs.Y, P, shape });
  const err = await device.popErrorScope();
  if (err) throw new Error(err.message);
  const encode = (n: number) => {
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    for (let i = 0; i < n; i++) {
      pass.setPipeline(gemm.pipeline);
      pass.setBindGroup(0, g);
      pass.dispatchWorkgroups(Math.ceil(s.N / tile.bn), Math.ceil(s.T / tile.bm), split);
      if (split > 1) {
        pass.setPipeline(reduce.pipeline);
        pass.setBindGroup(0, r);
        pass.dispatchWorkgroups(Math.ceil(s.N / 64), s.T, 1);
      }
    }
    pass.end();
    device.queue.submit([enc.finish()]);
    return device.queue.onSubmittedWorkDone();
  };
  device.pushErrorScope('validation');
  await encode(1);
  const runErr = await device.popErrorScope();
  if (runErr) throw new Error(runErr.message);
  const y = await readF32(bufs.Y, s.T * s.N);
  const times: number[] = [];
  for (let b = 0; b < 3; b++) {
    const t0 = performance.now();
    await encode(reps);
    times.push((performance.now() - t0) / reps);
  }
  times.sort((a, b) => a - b);
  shape.destroy();
  dims.destroy();
  P.destroy();
  return { ms: times[1]!, y };
}

interface Result {
  shape: string;
  kernel: string;
  pass: boolean;
  relErr: number;
  tol: number;
  relErrVsF32Inputs: number;
  relDiffVsGemmTiled: number;
  ms: number;
  tflops: number;
  peakShare: number;
  gemmTiledMs: number;
  gemmTiledTflops: number;
}

let failed = false;
const results: Result[] = [];
const hasI8 = hasConfig({ M: 16, N: 16, K: 32 }, 'i8', 'i32');
if (!hasI8) console.log('SKIP gemm_sgmat_i8: the adapter has no i8 16x16x32 config with i32 results');

/**
 * The W8A8 try: W int8 per output row (scale max|w| / 127), X int8 per token on the GPU (quant_rows_i8), i32
 * sums on the i8 subgroup matrices. Checked twice: exactness against float64 sums of the very integers and
 * scales the kernel multiplies (PASS/FAIL), and accuracy against the f32 inputs (reported as it is).
 */
async function checkI8(
  kernel: 'gemm_sgmat_i8' | 'gemm_sgmat_i8b',
  s: Shape,
  x: Float32Array,
  w: Float32Array,
  bufs: { X: GPUBuffer; bias: GPUBuffer; Y: GPUBuffer },
  samples: [number, number][],
  reps: number,
  flops: number,
  tiledMs: number,
): Promise<void> {
  const kp = paddedRowBytes(s.K);
  const wQuant = quantizeRowsI8(w, s.N, s.K);
  const wq = wQuant.q;
  const wscale = wQuant.scale;
  const Q = buffer(s.T * kp);
  const xscale = buffer(s.T * 4);
  const dims = upload(new Uint32Array([s.T, 0, 0, 0]), GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST);
  const qshape = upload(
    new Uint8Array(uniformBytes('quant_rows_i8', 'qshape', { K: s.K })),
    GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
  );
  const quant = pipes.kernel('quant_rows_i8');
  const qg = quant.bind('check.quant', { dims, qshape, X: bufs.X, Q, scale: xscale });
  const runQuant = (n: number) => {
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setPipeline(quant.pipeline);
    pass.setBindGroup(0, qg);
    for (let i = 0; i < n; i++) pass.dispatchWorkgroups(s.T);
    pass.end();
    device.queue.submit([enc.finish()]);
    return device.queue.onSubmittedWorkDone();
  };
  await runQuant(1);
  const qWords = new Uint32Array((await readF32(Q, (s.T * kp) / 4)).buffer);
  const qBytes = new Int8Array(qWords.buffer);
  const xs = await readF32(xscale, s.T);
  // The GPU's quantisation against the host's (same formula; ties and 1/scale rounding may move one step).
  const host = quantizeRowsI8(x, s.T, s.K);
  let qMaxDiff = 0;
  let scaleDiff = 0;
  for (let t = 0; t < s.T; t++) {
    scaleDiff = Math.max(scaleDiff, Math.abs(host.scale[t]! - xs[t]!) / Math.max(host.scale[t]!, 1e-30));
    for (let k = 0; k < s.K; k++) {
      qMaxDiff = Math.max(qMaxDiff, Math.abs(host.q[t * s.K + k]! - qBytes[t * kp + k]!));
    }
  }
  const t0 = performance.now();
  await runQuant(reps);
  const quantMs = (performance.now() - t0) / reps;
  const W = upload(packRowsI8(wQuant));
  const wsb = upload(wscale);
  const run = await runGemm(
    kernel,
    {},
    { bm: 128, bn: 128, tm: 8, tn: 8 },
    s,
    { X: Q, W, bias: bufs.bias, Y: bufs.Y, xscale, wscale: wsb },
    264,
    reps,
  );
  const got = samples.map(([t, n]) => run.y[t * s.N + n]!);
  const exact: number[] = [];
  const f32ref: number[] = [];
  for (const [t, n] of samples) {
    let acc = 0;
    let ref = 0;
    for (let k = 0; k < s.K; k++) {
      acc += qBytes[t * kp + k]! * wq[n * s.K + k]!;
      ref += x[t * s.K + k]! * w[n * s.K + k]!;
    }
    exact.push(acc * xs[t]! * wscale[n]!);
    f32ref.push(ref);
  }
  const maxAbs = (a: number[]) => Math.max(...a.map(Math.abs));
  const err = Math.max(...got.map((g, i) => Math.abs(g - exact[i]!))) / maxAbs(exact);
  const accuracy = Math.max(...got.map((g, i) => Math.abs(g - f32ref[i]!))) / maxAbs(f32ref);
  // Mean relative error per entry too: the max over 236 entries says little about the typical entry.
  const meanRel =
    got.reduce((a, g, i) => a + Math.abs(g - f32ref[i]!), 0) / f32ref.reduce((a, r) => a + Math.abs(r), 0);
  const tol = 1e-5;
  const pass = err <= tol && qMaxDiff <= 1 && scaleDiff <= 1e-6 && got.every(Number.isFinite);
  // gemm_sgmat_i8b reads load offsets in bytes rather than in i32 elements: one of the two readings is this
  // Dawn's, so the other is expected to be wrong; it is reported (INFO), not judged.
  const probe = kernel === 'gemm_sgmat_i8b';
  if (!pass && !probe) failed = true;
  console.log(
    `${probe ? `INFO(${pass ? 'right' : 'wrong'})` : pass ? 'PASS' : 'FAIL'} ${kernel.padEnd(18)} ${s.name.padEnd(34)} relErr ${err.toExponential(2)} (tol ${tol}, vs the same integers) ` +
      `quant |dq| ${qMaxDiff} scale ${scaleDiff.toExponential(1)} | W8A8 accuracy vs f32 inputs: max ${accuracy.toExponential(2)}, ` +
      `mean ${meanRel.toExponential(2)} | ${run.ms.toFixed(3)} ms + quant ${quantMs.toFixed(3)} ms, ` +
      `${(flops / run.ms / 1e9).toFixed(1)} TOP/s (gemm_tiled f16 ${tiledMs.toFixed(3)} ms)`,
  );
  for (const b of [Q, xscale, dims, qshape, W, wsb]) b.destroy();
}
const variants = F16_VARIANTS.filter((v) => hasConfig(v, 'f16', 'f32'));
for (const v of F16_VARIANTS) {
  if (!variants.includes(v))
    console.log(`SKIP ${v.kernel}: the adapter has no f16 ${v.M}x${v.N}x${v.K} config`);
}
for (const s of quick ? SHAPES.slice(0, 5) : SHAPES) {
  const r = rng(s.T * 7919 + s.N * 31 + s.K);
  // Real-scale data: RMS-normed activations (~N(0, 1)) and weights ~N(0, 1/K) as nn.Linear's init gives.
  const x = new Float32Array(s.T * s.K).map(() => r.normal());
  const wScale = 1 / Math.sqrt(s.K);
  const w = new Float32Array(s.N * s.K).map(() => roundF16(r.normal() * wScale));
  const words = new Uint32Array(Math.ceil((s.N * s.K) / 2));
  for (let i = 0; i < s.N * s.K; i += 2) {
    words[i >> 1] = (f32ToF16(w[i]!) | ((i + 1 < w.length ? f32ToF16(w[i + 1]!) : 0) << 16)) >>> 0;
  }
  const bufs = {
    X: upload(x),
    W: upload(words),
    bias: buffer(16),
    Y: buffer(s.T * s.N * 4),
  };
  // Sampled entries: the four corners, the last row and column, and random ones.
  const samples: [number, number][] = [
    [0, 0],
    [0, s.N - 1],
    [s.T - 1, 0],
    [s.T - 1, s.N - 1],
  ];
  for (let i = 0; i < 16; i++)
    samples.push([s.T - 1, Math.floor(r.u() * s.N)], [Math.floor(r.u() * s.T), s.N - 1]);
  for (let i = 0; i < 200; i++) samples.push([Math.floor(r.u() * s.T), Math.floor(r.u() * s.N)]);
  const refRounded: number[] = [];
  const refF32: number[] = [];
  for (const [t, n] of samples) {
    let a = 0;
    let b = 0;
    for (let k = 0; k < s.K; k++) {
      const wk = w[n * s.K + k]!;
      a += roundF16(x[t * s.K + k]!) * wk;
      b += x[t * s.K + k]! * wk;
    }
    refRounded.push(a);
    refF32.push(b);
  }
  const flops = 2 * s.T * s.N * s.K;
  const reps = Math.max(1, Math.min(50, Math.round(2e11 / flops)));
  const tiled = await runGemm(
    'gemm_tiled',
    { F16: true, TM: 4, TN: 4 },
    { bm: 64, bn: 64, tm: 4, tn: 4 },
    s,
    bufs,
    264,
    reps,
  );
  for (const v of variants) {
    let run: Run;
    try {
      run = await runGemm(v.kernel, {}, { bm: 128, bn: 128, tm: 8, tn: 8 }, s, bufs, 264, reps);
    } catch (e) {
      failed = true;
      console.log(`FAIL ${v.kernel} ${s.name}: ${(e as Error).message.split('\n').slice(0, 6).join(' | ')}`);
      continue;
    }
    const got = samples.map(([t, n]) => run.y[t * s.N + n]!);
    const maxRef = Math.max(...refRounded.map(Math.abs));
    const err = Math.max(...got.map((g, i) => Math.abs(g - refRounded[i]!))) / maxRef;
    const errF32 =
      Math.max(...got.map((g, i) => Math.abs(g - refF32[i]!))) / Math.max(...refF32.map(Math.abs));
    const pass = err <= TOL && got.every(Number.isFinite);
    if (!pass) failed = true;
    const res: Result = {
      shape: s.name,
      kernel: v.kernel,
      pass,
      relErr: err,
      tol: TOL,
      relErrVsF32Inputs: errF32,
      relDiffVsGemmTiled: relMaxDiff(run.y, tiled.y),
      ms: run.ms,
      tflops: flops / run.ms / 1e9,
      peakShare: flops / run.ms / 1e-3 / PEAK_F16,
      gemmTiledMs: tiled.ms,
      gemmTiledTflops: flops / tiled.ms / 1e9,
    };
    results.push(res);
    console.log(
      `${pass ? 'PASS' : 'FAIL'} ${v.kernel.padEnd(18)} ${s.name.padEnd(34)} relErr ${err.toExponential(2)} (tol ${TOL}) ` +
        `vsF32in ${errF32.toExponential(2)} vsTiled ${res.relDiffVsGemmTiled.toExponential(2)} | ` +
        `${run.ms.toFixed(3)} ms ${res.tflops.toFixed(1)} TFLOP/s (${(100 * res.peakShare).toFixed(1)}% of 990) | ` +
        `gemm_tiled ${tiled.ms.toFixed(3)} ms ${res.gemmTiledTflops.toFixed(1)} TFLOP/s`,
    );
  }
  if (hasI8) {
    for (const kernel of ['gemm_sgmat_i8', 'gemm_sgmat_i8b'] as const) {
      try {
        await checkI8(kernel, s, x, w, bufs, samples, reps, flops, tiled.ms);
      } catch (e) {
        failed = true;
        console.log(`FAIL ${kernel} ${s.name}: ${(e as Error).message.split('\n').slice(0, 6).join(' | ')}`);
      }
    }
  }
  for (const b of Object.values(bufs)) b.destroy();
}
await checkEngine();
if (process.argv.includes('--json')) console.log(JSON.stringify({ configs, results }));
console.log(failed ? 'RESULT: FAIL' : 'RESULT: PASS');
process.exit(failed ? 1 : 0);

/**
 * The engine end to end (openNodeDevice, which asks Dawn for the same toggles): random:130m and random:2.8b in
 * f16, once on the prefill GEMMs the options choose (subgroup matrices here) and once with subgroupMatrix off
 * (gemm_tiled). 130m: both against the float64 reference on the f16 weights (first REF_TOKENS positions), PASS
 * at the fixtures' f16 tolerance; both sizes: the two paths' logits against each other and their argmax
 * agreement, and prefill tokens/s at 2048 tokens (one run after a warm-up; soup bench gives the medians).
 */
async function checkEngine(): Promise<void> {
  const F16_TOL = 5e-2;
  const REF_TOKENS = 6;
  const dev = await openNodeDevice();
  console.log(`engine device, subgroup matrices: ${JSON.stringify(dev.subgroupMatrix ?? null)}`);
  for (const size of quick ? (['130m'] as const) : (['130m', '2.8b'] as const)) {
    const config = randomConfig(size);
    const r = rng(size === '130m' ? 1 : 2);
    const tokens = Array.from({ length: 2048 }, () => Math.floor(r.u() * config.vocabSize));
    const logits: Float32Array[] = [];
    const kernels: string[] = [];
    const tps: number[] = [];
    for (const subgroupMatrix of [true, false]) {
      const { engine } = await createRandomEngine(dev, config, { dtype: 'f16', subgroupMatrix }, 0);
      try {
        kernels.push(engine.prefillGemmKernel);
        const st = engine.createState();
        logits.push((await engine.prefill(st, tokens.slice(0, 64), { logits: 'all' }))!);
        st.destroy();
        for (let rep = 0; rep < 2; rep++) {
          const s2 = engine.createState();
          const t0 = performance.now();
          await engine.prefill(s2, tokens);
          await dev.device.queue.onSubmittedWorkDone();
          if (rep === 1) tps.push(tokens.length / ((performance.now() - t0) / 1000));
          s2.destroy();
        }
      } catch (e) {
        failed = true;
        console.log(
          `FAIL engine ${size} ${subgroupMatrix ? 'subgroup matrices' : 'gemm_tiled'}: ${(e as Error).message}`,
        );
        engine.destroy();
        return;
      }
      engine.destroy();
    }
    const V = config.vocabSize;
    const rows = (a: Float32Array) => argmaxRows(a, V);
    const agree = rows(logits[0]!).filter((v, i) => v === rows(logits[1]!)[i]).length;
    const between = relMaxDiff(logits[0]!, logits[1]!);
    let line =
      `engine random:${size} f16: prefill GEMM ${kernels[0]} vs ${kernels[1]}: logits relMaxDiff ${between.toExponential(2)}, ` +
      `argmax agree ${agree}/64 | prefill 2048: ${tps[0]!.toFixed(0)} tok/s vs ${tps[1]!.toFixed(0)} tok/s`;
    if (size === '130m') {
      const ref = referenceForward(
        weightsAsHeld(randomHostWeights(config, 0), 'f16'),
        tokens.slice(0, REF_TOKENS),
      );
      const n = REF_TOKENS * V;
      const errs = logits.map((l) => relMaxDiff(l.subarray(0, n), ref.logits.subarray(0, n)));
      const pass = errs[0]! <= F16_TOL && errs[1]! <= F16_TOL;
      if (!pass) failed = true;
      line =
        `${pass ? 'PASS' : 'FAIL'} ${line} | vs float64 reference (${REF_TOKENS} tokens): ${kernels[0]} ` +
        `${errs[0]!.toExponential(2)}, ${kernels[1]} ${errs[1]!.toExponential(2)} (tol ${F16_TOL})`;
    }
    console.log(line);
  }
}
