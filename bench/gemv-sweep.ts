/**
 * Decode GEMV bandwidth on this adapter: how close to the memory limit can a WGSL GEMV read f16 weights? Issue
 * 14 asks for decode GEMVs at ≥ 75 % of the measured GEMV bandwidth; the engine's fused GEMV (gemv_fused_sg_h,
 * 64 invocations per ROWS rows, partial sums gathered through workgroup memory) read 1.4–1.6 TB/s at 2.8b.
 * This sweep times, at the decode shapes of mamba-2.8b (in_proj 10240×2560, out_proj 2560×5120) and mamba-130m
 * (in_proj 3072×768):
 *   - `plain`: one invocation per row, f32 weights (the "plain GEMV" whose bandwidth is the yardstick);
 *   - `engine`: the engine's kernel at 1, 2 and 4 rows per workgroup, one step or four (STEPS4) at a time;
 *   - `sgrow WG R U`: one subgroup per R rows, WG invocations per workgroup, each lane reading U 16-byte groups
 *     of f16 per step, sums by subgroupAdd alone (no workgroup memory, no barrier).
 * Weights are cycled over enough copies that no call finds its matrix in L2 (the H200 has 50 MB), so the
 * figures are HBM's. Each variant is checked against a float64 sum on sampled rows (max |diff| / max |ref|
 * ≤ 1e-5, PASS/FAIL), then timed: 8 batches of CALLS dispatches in one pass, median batch ÷ CALLS, GB/s of
 * weights. Prints a table and one JSON line per result.
 *
 *   npx esbuild bench/gemv-sweep.ts --bundle --platform=node --format=esm --external:webgpu \
 *     --outfile=dist-bench/gemv-sweep.mjs
 *   node dist-bench/gemv-sweep.mjs [--quick]
 */
import { existsSync } from 'node:fs';
import { f16ToF32, f32ToF16 } from '../src/model/safetensors.ts';
import { nodeGpu } from '../src/engine/gpu/node.ts';
import { shaderSources } from '../src/engine/shaders.gen.ts';
import { mulberry32 as rng } from '../src/studies/random.ts';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
if (!process.env['VK_ICD_FILENAMES'] && !existsSync('/dev/nvidia0') && existsSync(SWIFTSHADER_ICD)) {
  process.env['VK_ICD_FILENAMES'] = SWIFTSHADER_ICD;
}
const quick = process.argv.includes('--quick');
const CALLS = quick ? 4 : 40;
const L2_BYTES = 64 << 20;

const gpu = nodeGpu();
const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
if (!adapter) throw new Error('no adapter');
const want: GPUFeatureName[] = ['shader-f16', 'subgroups'];
const features = want.filter((f) => adapter.features.has(f));
const device = await adapter.requestDevice({
  requiredFeatures: features,
  requiredLimits: {
    maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
    maxBufferSize: adapter.limits.maxBufferSize,
  },
});
const hasF16 = features.includes('shader-f16');
const hasSg = features.includes('subgroups');
console.log(JSON.stringify({ adapter: adapter.info.description || adapter.info.vendor, features }));

/** One subgroup per R rows; lanes stride over the row's 16-byte groups, U of them per step. */
function sgrowSource(wg: number, r: number, u: number, half: boolean): string {
  return `${half ? 'enable f16;' : ''}
enable subgroups;
diagnostic(off, subgroup_uniformity);
struct Dims { N: u32, K: u32, pad0: u32, pad1: u32 }
@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> X: array<vec4f>;
@group(0) @binding(2) var<storage, read> W: array<${half ? 'vec4<f16>' : 'vec4u'}>;
@group(0) @binding(3) var<storage, read_write> Y: array<f32>;
${
  half
    ? 'fn oct(g: u32) -> array<vec4f, 2> { return array<vec4f, 2>(vec4f(W[2u * g]), vec4f(W[2u * g + 1u])); }'
    : 'fn oct(g: u32) -> array<vec4f, 2> { let w = W[g]; return array<vec4f, 2>(vec4f(unpack2x16float(w.x), unpack2x16float(w.y)), vec4f(unpack2x16float(w.z), unpack2x16float(w.w))); }'
}
const WG = ${wg}u;
const R = ${r}u;
const U = ${u}u;
@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) li: u32,
        @builtin(subgroup_invocation_id) lane: u32, @builtin(subgroup_size) sgs: u32) {
  let sg = li / sgs;
  let first = (wid.x * (WG / sgs) + sg) * R;
  let per = dims.K / 8u;
  var rows: array<u32, R>;
  for (var r = 0u; r < R; r++) { rows[r] = min(first + r, dims.N - 1u) * per; }
  var acc: array<f32, R>;
  for (var j = lane * U; j < per; j += sgs * U) {
    for (var v = 0u; v < U; v++) {
      let jj = min(j + v, per - 1u);
      let keep = select(0.0, 1.0, j + v < per);
      let lo = X[2u * jj] * keep;
      let hi = X[2u * jj + 1u] * keep;
      for (var r = 0u; r < R; r++) {
        let w = oct(rows[r] + jj);
        acc[r] += dot(w[0], lo) + dot(w[1], hi);
      }
    }
  }
  for (var r = 0u; r < R; r++) {
    let s = subgroupAdd(acc[r]);
    if (lane == 0u && first + r < dims.N) { Y[first + r] = s; }
  }
}`;
}

const PLAIN = `struct Dims { N: u32, K: u32, pad0: u32, pad1: u32 }
@group(0) @binding(0) var<uniform> dims: Dims;
@group(0) @binding(1) var<storage, read> X: array<vec4f>;
@group(0) @binding(2) var<storage, read> W: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> Y: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let n = gid.x;
  if (n >= dims.N) { return; }
  let per = dims.K / 4u;
  var acc = 0.0;
  for (var j = 0u; j < per; j++) { acc += dot(W[n * per + j], X[j]); }
  Y[n] = acc;
}`;

interface Variant {
  name: string;
  f16: boolean;
  source: string;
  /** The engine's gemv_fused: its Shape uniform and extra bindings, and the ROWS override. */
  engineRows?: number;
  /** gemv_fused's STEPS4 (four steps' weights loaded together). */
  engineSteps4?: boolean;
  /** Workgroups for N rows (needs the subgroup size for sgrow). */
  groups: (n: number, sgs: number) => number;
}

const variants: Variant[] = [
  { name: 'plain f32', f16: false, source: PLAIN, groups: (n) => Math.ceil(n / 64) },
];
// The engine's decode GEMV as it runs today (gemv_fused_sg_h where shader-f16, else gemv_fused_sg packed).
if (hasSg) {
  for (const rowsPer of [1, 2, 4]) {
    for (const steps4 of [false, true]) {
      variants.push({
        name: `engine ${hasF16 ? 'gemv_fused_sg_h' : 'gemv_fused_sg'} ROWS=${rowsPer}${steps4 ? ' STEPS4' : ''}`,
        f16: true,
        source: (hasF16 ? shaderSources['gemv_fused_sg_h'] : shaderSources['gemv_fused_sg']) ?? '',
        engineRows: rowsPer,
        engineSteps4: steps4,
        groups: (n) => Math.ceil(n / rowsPer),
      });
    }
  }
}
// Native f16 where the adapter has shader-f16; the packed form (f16 pairs in u32, unpack2x16float) everywhere.
for (const half of hasF16 ? [true, false] : [false]) {
  if (!hasSg) break;
  for (const wg of [64, 128, 256])
    for (const r of [1, 2, 4])
      for (const u of [1, 2]) {
        if ((quick || !half) && (wg !== 128 || u !== 1)) continue;
        variants.push({
          name: `sgrow${half ? '' : ' packed'} WG=${wg} R=${r} U=${u}`,
          f16: true,
          source: sgrowSource(wg, r, u, half),
          groups: (n, sgs) => Math.ceil(n / ((wg / sgs) * r)),
        });
      }
}

const shapes = [
  { name: '2.8b in_proj', N: 10240, K: 2560 },
  { name: '2.8b out_proj', N: 2560, K: 5120 },
  { name: '130m in_proj', N: 3072, K: 768 },
];
// The subgroup size: lanes of one subgroup; sgrow assumes subgroups of consecutive invocation indices, which
// the correctness check would catch if this adapter numbered them otherwise.
const sgs = (adapter.info as GPUAdapterInfo & { subgroupMaxSize?: number }).subgroupMaxSize ?? 32;

function buffer(data: ArrayBufferView, usage: number): GPUBuffer {
  const b = device.createBuffer({ size: Math.max(16, data.byteLength), usage, mappedAtCreation: true });
  new Uint8Array(b.getMappedRange()).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  b.unmap();
  return b;
}

const rows: Record<string, unknown>[] = [];
for (const s of shapes) {
  const next = rng(s.N + s.K);
  const x = Float32Array.from({ length: s.K }, () => next() * 2 - 1);
  const w = Float32Array.from({ length: s.N * s.K }, () => f16ToF32(f32ToF16(next() * 2 - 1)));
  const w16 = new Uint16Array(w.length);
  for (let i = 0; i < w.length; i++) w16[i] = f32ToF16(w[i]!);
  const sample = Array.from({ length: 64 }, (_, i) => (i * 7919) % s.N);
  const ref = sample.map((n) => {
    let a = 0;
    for (let k = 0; k < s.K; k++) a += w[n * s.K + k]! * x[k]!;
    return a;
  });
  const refMax = Math.max(...ref.map(Math.abs));
  const xBuf = buffer(x, GPUBufferUsage.STORAGE);
  const yBuf = device.createBuffer({
    size: s.N * 4,
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC,
  });
  const dims = buffer(new Uint32Array([s.N, s.K, 0, 0]), GPUBufferUsage.UNIFORM);
  // gemv_fused's Shape {N, K, LDY, COL0, BIAS_OFF, HAS_BIAS, SPLIT_TARGET, MAX_SPLIT} and unused extras.
  const shape = buffer(new Uint32Array([s.N, s.K, s.N, 0, 0, 0, 0, 0]), GPUBufferUsage.UNIFORM);
  const spare = () => device.createBuffer({ size: 16, usage: GPUBufferUsage.STORAGE });
  const extras = [spare(), spare(), spare()];
  const read = device.createBuffer({
    size: s.N * 4,
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  for (const v of variants) {
    const bytes = v.f16 ? w16.byteLength : w.byteLength;
    const copies = Math.max(1, Math.min(16, Math.ceil((2 * L2_BYTES) / bytes)));
    const ws = Array.from({ length: copies }, () => buffer(v.f16 ? w16 : w, GPUBufferUsage.STORAGE));
    try {
      device.pushErrorScope('validation');
      const module = device.createShaderModule({ code: v.source });
      const constants: Record<string, number> = v.engineRows ? { ROWS: v.engineRows } : {};
      if (v.engineSteps4) constants['STEPS4'] = 1;
      if (v.engineRows && !hasF16) constants['F16'] = 1;
      const pipeline = await device.createComputePipelineAsync({
        layout: 'auto',
        compute: { module, entryPoint: 'main', constants },
      });
      const err = await device.popErrorScope();
      if (err) throw new Error(err.message);
      const groups = ws.map((wb) => {
        const bound = v.engineRows
          ? [shape, xBuf, wb, extras[0]!, yBuf, extras[1]!, extras[2]!]
          : [dims, xBuf, wb, yBuf];
        return device.createBindGroup({
          layout: pipeline.getBindGroupLayout(0),
          entries: bound.map((b, i) => ({ binding: i, resource: { buffer: b } })),
        });
      });
      const wgs = v.groups(s.N, sgs);
      const run = async (calls: number) => {
        const enc = device.createCommandEncoder();
        const pass = enc.beginComputePass();
        pass.setPipeline(pipeline);
        for (let c = 0; c < calls; c++) {
          pass.setBindGroup(0, groups[c % groups.length]!);
          pass.dispatchWorkgroups(wgs);
        }
        pass.end();
        const t0 = performance.now();
        device.queue.submit([enc.finish()]);
        await device.queue.onSubmittedWorkDone();
        return performance.now() - t0;
      };
      await run(1);
      const enc = device.createCommandEncoder();
      enc.copyBufferToBuffer(yBuf, 0, read, 0, s.N * 4);
      device.queue.submit([enc.finish()]);
      await read.mapAsync(GPUMapMode.READ);
      const y = new Float32Array(read.getMappedRange().slice(0));
      read.unmap();
      const err1 = Math.max(...sample.map((n, i) => Math.abs(y[n]! - ref[i]!))) / refMax;
      const times: number[] = [];
      for (let b = 0; b < 8; b++) times.push(await run(CALLS));
      times.sort((a, b) => a - b);
      const us = (times[4]! / CALLS) * 1000;
      const gbs = bytes / (us * 1e3);
      const row = {
        shape: s.name,
        variant: v.name,
        us: +us.toFixed(2),
        GBs: +gbs.toFixed(0),
        err: err1,
        pass: err1 <= 1e-5,
      };
      rows.push(row);
      console.log(JSON.stringify(row));
    } catch (e) {
      const row = { shape: s.name, variant: v.name, error: String(e).slice(0, 300) };
      rows.push(row);
      console.log(JSON.stringify(row));
    } finally {
      for (const b of ws) b.destroy();
    }
  }
}
console.log('\n| shape | variant | µs | GB/s | pass |\n|---|---|---|---|---|');
for (const r of rows)
  console.log(
    `| ${String(r['shape'])} | ${String(r['variant'])} | ${String(r['us'] ?? '-')} | ${String(r['GBs'] ?? r['error'])} | ${String(r['pass'] ?? false)} |`,
  );
process.exit(rows.some((r) => r['pass'] === false) ? 1 : 0);
