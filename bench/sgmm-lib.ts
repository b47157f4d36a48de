/**
 * Running shaders/gemm_sgmm.wgsl (and to_f16.wgsl before it) outside the engine, for bench/sgmat-sweep.ts on the
 * GPU machine and tests/kernels.sgmm-emulated.test.ts here: the problem data (f32 X, f16 W as nn.Linear's
 * init gives), the float64 reference on sampled entries, and one GEMM as the engine would dispatch it
 * (to_f16 where the variant reads f16 X, split-K with gemm_splitk_reduce.wgsl where the tiles are few).
 */
import { f16ToF32, f32ToF16 } from '../src/model/safetensors.ts';
import { maxSplitFor } from '../src/engine/decisions.ts';
import { sgmmLayout, type SgmmChoice } from '../src/engine/sgmmDecisions.ts';
import { mulberry32 } from '../src/studies/random.ts';
import { PipelineCache } from '../src/engine/kernels/pipelines.ts';
import { createBindGroup } from '../src/engine/kernels/bindings.ts';
import { uniformBytes } from '../src/engine/kernels/uniforms.ts';

export interface GemmShape {
  name: string;
  T: number;
  N: number;
  K: number;
}

/** A deterministic generator (the studies' mulberry32) and roughly normal samples from it. */
export function gen(seed: number) {
  const u = mulberry32(seed);
  return { u, normal: () => (u() + u() + u() + u() - 2) * Math.sqrt(3) };
}

/** The adapter's own limits for the buffers and workgroups a GEMM sweep allocates (not the defaults). */
export function adapterLimits(adapter: GPUAdapter): Record<string, number> {
  const limits: Record<string, number> = {};
  for (const k of [
    'maxStorageBufferBindingSize',
    'maxBufferSize',
    'maxComputeWorkgroupStorageSize',
    'maxComputeInvocationsPerWorkgroup',
    'maxComputeWorkgroupSizeX',
  ] as const) {
    limits[k] = adapter.limits[k];
  }
  return limits;
}

export const roundF16 = (v: number) => f16ToF32(f32ToF16(v));

/** Rows X buffers hold: whole tiles of 256 tokens, so straight loads of any BM <= 256 stay inside. */
export const padRows = (t: number) => Math.ceil(t / 256) * 256;

export interface Problem {
  s: GemmShape;
  /** f32 activations [T, K] (~N(0, 1), as after RMSNorm) and f16-valued weights [N, K] (~N(0, 1/K)). */
  x: Float32Array;
  w: Float32Array;
  /** w as the f16 path stores it: halves in pairs per u32. */
  wWords: Uint32Array;
  /** Sampled (t, n): corners, the last row and column, random ones. */
  samples: [number, number][];
}

export function makeProblem(s: GemmShape, seed: number, randomSamples = 200): Problem {
  const r = gen(seed);
  const x = new Float32Array(s.T * s.K).map(() => r.normal());
  const scale = 1 / Math.sqrt(s.K);
  const w = new Float32Array(s.N * s.K).map(() => roundF16(r.normal() * scale));
  const wWords = new Uint32Array(Math.ceil((s.N * s.K) / 2) + 4);
  for (let i = 0; i < s.N * s.K; i++) wWords[i >> 1]! |= f32ToF16(w[i]!) << (16 * (i & 1));
  const samples: [number, number][] = [
    [0, 0],
    [0, s.N - 1],
    [s.T - 1, 0],
    [s.T - 1, s.N - 1],
  ];
  for (let i = 0; i < 8; i++)
    samples.push([s.T - 1, Math.floor(r.u() * s.N)], [Math.floor(r.u() * s.T), s.N - 1]);
  for (let i = 0; i < randomSamples; i++) samples.push([Math.floor(r.u() * s.T), Math.floor(r.u() * s.N)]);
  return { s, x, w, wWords, samples };
}

/** float64 sums on the sampled entries: of the f16-rounded X (what the kernel multiplies) and of the f32 X. */
export function reference(p: Problem): { rounded: number[]; f32: number[] } {
  const { s, x, w } = p;
  const rounded: number[] = [];
  const f32: number[] = [];
  for (const [t, n] of p.samples) {
    let a = 0;
    let b = 0;
    for (let k = 0; k < s.K; k++) {
      const wk = w[n * s.K + k]!;
      a += roundF16(x[t * s.K + k]!) * wk;
      b += x[t * s.K + k]! * wk;
    }
    rounded.push(a);
    f32.push(b);
  }
  return { rounded, f32 };
}

/** max |got - want| / max |want| over the samples (Infinity when anything is not finite). */
export function relErr(p: Problem, y: Float32Array, want: number[], ldy = p.s.N): number {
  let num = 0;
  let den = 0;
  p.samples.forEach(([t, n], i) => {
    const g = y[t * ldy + n]!;
    num = Number.isFinite(g) ? Math.max(num, Math.abs(g - want[i]!)) : Infinity;
    den = Math.max(den, Math.abs(want[i]!));
  });
  return num / den;
}

// GPUBufferUsage's values, spelled out: the globals exist only once Dawn's module has loaded.
const STORAGE = 0x80 | 0x8 | 0x4; // STORAGE | COPY_DST | COPY_SRC
const UNIFORM = 0x40 | 0x8; // UNIFORM | COPY_DST
const MAP_READ = 0x1;

export function upload(device: GPUDevice, data: ArrayBufferView, usage = STORAGE): GPUBuffer {
  const b = device.createBuffer({ size: Math.max(16, Math.ceil(data.byteLength / 16) * 16), usage });
  device.queue.writeBuffer(b, 0, data.buffer, data.byteOffset, data.byteLength);
  return b;
}

export async function readF32(device: GPUDevice, b: GPUBuffer, floats: number): Promise<Float32Array> {
  const bytes = Math.ceil((floats * 4) / 16) * 16;
  const staging = device.createBuffer({ size: bytes, usage: MAP_READ | 0x8 });
  const enc = device.createCommandEncoder();
  enc.copyBufferToBuffer(b, 0, staging, 0, bytes);
  device.queue.submit([enc.finish()]);
  await staging.mapAsync(1); // GPUMapMode.READ
  const out = new Float32Array(staging.getMappedRange().slice(0, floats * 4));
  staging.destroy();
  return out;
}

/** gemm_tiled's split-K bound for k inputs. */
export const maxSplit = maxSplitFor;

/** The Shape uniform of gemm_tiled / gemm_sgmm / gemm_sgmat for `s` (Y row-major [T, N], no bias). */
export function gemmShapeUniform(device: GPUDevice, s: GemmShape, splitTarget: number): GPUBuffer {
  const values = {
    N: s.N,
    K: s.K,
    LDY: s.N,
    COL0: 0,
    BIAS_OFF: 0,
    HAS_BIAS: 0,
    SPLIT_TARGET: splitTarget,
    MAX_SPLIT: splitTarget > 0 ? maxSplit(s.K) : 1,
  };
  return upload(device, new Uint8Array(uniformBytes('gemm_tiled', 'shape', values)), UNIFORM);
}

/** Workgroups along z for T tokens on BM x BN tiles: the shader's splits() / split_count.wgsl. */
export function splitsFor(s: GemmShape, bm: number, bn: number, target: number): number {
  const most = target > 0 ? maxSplit(s.K) : 1;
  if (most <= 1) return 1;
  const tiles = Math.ceil(s.T / bm) * Math.ceil(s.N / bn);
  return Math.min(most, Math.max(1, Math.ceil(target / tiles)));
}

/** The GPU side of one problem: X (f32, padded rows), X as f16 (filled by to_f16), W, Y, bias, P. */
export interface ProblemBuffers {
  X: GPUBuffer;
  Xh: GPUBuffer;
  W: GPUBuffer;
  Y: GPUBuffer;
  bias: GPUBuffer;
  P: GPUBuffer;
  dims: GPUBuffer;
  destroy(): void;
}

/** Buffer sizes: whole 16-byte blocks (readF32 copies whole blocks), never empty. */
const bytes = (n: number) => Math.max(16, Math.ceil(n / 16) * 16);

export function problemBuffers(device: GPUDevice, p: Problem, maxSplitCount = 16): ProblemBuffers {
  const { s } = p;
  const rows = padRows(s.T);
  const xPad = new Float32Array(rows * s.K);
  xPad.set(p.x);
  const bufs = {
    X: upload(device, xPad),
    // Room for to_f16_x2's two halves (hi, lo); to_f16 fills the first.
    Xh: device.createBuffer({ size: bytes(2 * rows * s.K * 2), usage: STORAGE }),
    W: upload(device, p.wWords),
    Y: device.createBuffer({ size: bytes(s.T * s.N * 4), usage: STORAGE }),
    bias: device.createBuffer({ size: 16, usage: STORAGE }),
    P: device.createBuffer({ size: bytes(maxSplitCount * s.T * s.N * 4), usage: STORAGE }),
    dims: upload(device, new Uint32Array([s.T, 0, 0, 0]), UNIFORM),
  };
  return {
    ...bufs,
    destroy: () => Object.values(bufs).forEach((b) => b.destroy()),
  };
}

/** A compute pass's worth of work: encode it `n` times into one pass. */
export type Encoded = (pass: GPUComputePassEncoder) => void;

/** to_f16 over the problem's padded rows (X f32 -> Xh f16); `split`: to_f16_x2 (hi, then lo rows). */
export function toF16Step(device: GPUDevice, p: Problem, b: ProblemBuffers, split = false): Encoded {
  const pipes = PipelineCache.forDevice(device);
  const rows = padRows(p.s.T);
  const kernel = split ? 'to_f16_x2' : 'to_f16';
  const cvt = upload(device, new Uint8Array(uniformBytes(kernel, 'cvt', { K: p.s.K, ROWS: rows })), UNIFORM);
  const k = pipes.kernel(kernel);
  const bg = k.bind('sgmm.cvt', { dims: b.dims, X: b.X, Xh: b.Xh, cvt });
  const groups = Math.ceil((rows * p.s.K) / 2 / 256);
  const gx = Math.min(groups, 65535);
  return (pass) => {
    pass.setPipeline(k.pipeline);
    pass.setBindGroup(0, bg);
    pass.dispatchWorkgroups(gx, Math.ceil(groups / gx), 1);
  };
}

/**
 * The GEMM of variant `c` through `pipeline` (made from gemm_sgmm's real or emulated source with c's
 * overrides), then gemm_splitk_reduce where split-K applies. `splitTarget` 0: no split-K.
 */
export function sgmmStep(
  device: GPUDevice,
  pipeline: GPUComputePipeline,
  c: SgmmChoice,
  p: Problem,
  b: ProblemBuffers,
  splitTarget: number,
): { encode: Encoded; split: number } {
  const { s } = p;
  const l = sgmmLayout(c);
  const split = splitsFor(s, l.BM, l.BN, splitTarget);
  const shape = gemmShapeUniform(device, s, splitTarget);
  const X = l.halfX ? b.Xh : b.X;
  const bg = createBindGroup(device, pipeline, c.kernel, 'sgmm', {
    dims: b.dims,
    X,
    W: b.W,
    bias: b.bias,
    Y: b.Y,
    P: b.P,
    shape,
  });
  const reduce = PipelineCache.forDevice(device).kernel('gemm_splitk_reduce', {
    TM: l.BM / 16,
    TN: l.BN / 16,
  });
  const rg = reduce.bind('sgmm.reduce', { dims: b.dims, bias: b.bias, Y: b.Y, P: b.P, shape });
  const encode: Encoded = (pass) => {
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bg);
    pass.dispatchWorkgroups(Math.ceil(s.N / l.BN), Math.ceil(s.T / l.BM), split);
    if (split > 1) {
      pass.setPipeline(reduce.pipeline);
      pass.setBindGroup(0, rg);
      pass.dispatchWorkgroups(Math.ceil(s.N / 64), s.T, 1);
    }
  };
  return { encode, split };
}

/** Runs `steps` once per repetition, `reps` times in one pass, and resolves when the GPU is done. */
export async function submit(device: GPUDevice, steps: Encoded[], reps = 1): Promise<void> {
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass();
  for (let i = 0; i < reps; i++) for (const st of steps) st(pass);
  pass.end();
  device.queue.submit([enc.finish()]);
  await device.queue.onSubmittedWorkDone();
}

/** The overrides of variant `c` as pipeline constants. */
export function sgmmConstants(c: SgmmChoice, s?: GemmShape): Record<string, number> {
  const base = { SGM: c.SGM, SGN: c.SGN, TI: c.TI, TJ: c.TJ, BK: c.BK };
  if (!sgmmLayout(c).splitX) return base;
  if (!s) throw new Error(`${c.kernel} needs the problem's shape (XROWS, the rows of X's hi half)`);
  return { ...base, XROWS: padRows(s.T) };
}

/** A short name of a variant: kernel and geometry. */
export function sgmmName(c: SgmmChoice): string {
  const l = sgmmLayout(c);
  return `${c.kernel.replace('gemm_sgmm_', '')} ${l.BM}x${l.BN} sg${c.SGM}x${c.SGN} t${c.TI}x${c.TJ} bk${c.BK}`;
}
