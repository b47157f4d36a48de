/**
 * One call of each kernel that reads big weight matrices (the HALF_KERNELS of src/engine/decisions.ts), on
 * given weight words, with a float64 CPU answer to compare it with: the cases behind bench/check-f16.ts (native
 * f16 against packed u32 against the CPU, on the GPU machine) and tests/kernels.f16-emulated.test.ts (the
 * native kernels' text with f16 read as f32, on SwiftShader). The caller says which pipeline runs (packed,
 * native, or emulated) and which words hold the weights; the buffers, bindings, uniforms and dispatch sizes
 * are the engine's (the same as src/engine/plan/), written once here.
 */
import type { HalfKernel } from '../src/engine/decisions.ts';
import { splitCount } from '../src/engine/decisions.ts';
import { createBindGroup } from '../src/engine/kernels/bindings.ts';
import { shaderSources, type ShaderName } from '../src/engine/shaders.gen.ts';
import { f16ToF32, f32ToF16 } from '../src/model/safetensors.ts';
import { mulberry32 } from '../src/studies/random.ts';

export type Consts = Record<string, number | boolean>;

/** One kernel call: the family, its sizes and its override constants (besides F16). */
export interface KernelCase {
  kernel: HalfKernel;
  /** Tokens (1 for the GEMVs), outputs (rows of W, or embedding rows), inputs (columns of W, or d_model). */
  T: number;
  N: number;
  K: number;
  consts: Consts;
  /** gemm_tiled: split-K target and bound (SPLIT_TARGET, MAX_SPLIT of the Shape uniform). */
  split?: [number, number];
}

/** The kernels' own limits: the fused GEMV needs K % 8 == 0 in f16; the rest take any size. */
export const KERNEL_CASES: KernelCase[] = [
  { kernel: 'gemv', T: 1, N: 67, K: 33, consts: {} },
  { kernel: 'gemv', T: 1, N: 130, K: 96, consts: {} },
  { kernel: 'gemv_coop', T: 1, N: 67, K: 33, consts: {} },
  { kernel: 'gemv_coop', T: 1, N: 130, K: 96, consts: {} },
  { kernel: 'gemv_subgroup', T: 1, N: 67, K: 33, consts: {} },
  { kernel: 'gemv_subgroup', T: 1, N: 130, K: 96, consts: {} },
  { kernel: 'gemv_fused', T: 1, N: 130, K: 96, consts: { ROWS: 1 } },
  { kernel: 'gemv_fused', T: 1, N: 67, K: 776, consts: { ROWS: 4 } },
  { kernel: 'gemv_fused_sg', T: 1, N: 130, K: 96, consts: { ROWS: 1 } },
  { kernel: 'gemv_fused_sg', T: 1, N: 67, K: 776, consts: { ROWS: 4 } },
  { kernel: 'gemm_reg', T: 70, N: 67, K: 35, consts: {} },
  { kernel: 'gemm_reg', T: 5, N: 130, K: 96, consts: {} },
  { kernel: 'gemm_tiled', T: 70, N: 67, K: 35, consts: { TM: 4, TN: 4 }, split: [1, 1] },
  { kernel: 'gemm_tiled', T: 130, N: 140, K: 40, consts: { TM: 8, TN: 8 }, split: [1, 1] },
  { kernel: 'gemm_tiled', T: 20, N: 67, K: 300, consts: { TM: 4, TN: 4 }, split: [64, 7] },
  { kernel: 'embed', T: 9, N: 51, K: 37, consts: { DM: 37 } },
];

export const caseName = (c: KernelCase) =>
  `${c.kernel} T=${c.T} N=${c.N} K=${c.K}${c.consts['ROWS'] ? ` ROWS=${String(c.consts['ROWS'])}` : ''}${
    c.split && c.split[1] > 1 ? ` split-K ${c.split[1]}` : ''
  }`;

/** Inputs of one case: x [T, K] (token ids for embed), W [N, K] rounded to f16, a bias of N + 1 values. */
export interface CaseData {
  x: Float32Array;
  tokens: Uint32Array;
  /** The weights as f16 would hold them (already rounded), row-major [N, K]. */
  w: Float32Array;
  bias: Float32Array;
}

export function caseData(c: KernelCase, seed: number): CaseData {
  const next = mulberry32(seed);
  const u = (n: number) => Float32Array.from({ length: n }, () => next() * 2 - 1);
  const w = u(c.N * c.K).map((v) => f16ToF32(f32ToF16(v)));
  // Token ids cover every row once in a while, and one id beyond the matrix (left untouched by embed).
  const tokens = Uint32Array.from({ length: c.T }, (_, t) => (t === 3 ? c.N + 2 : (t * 7 + 1) % c.N));
  return { x: u(c.T * c.K), tokens, w, bias: u(c.N + 1) };
}

/** f16 weights two per u32 word (low half first), as src/engine/gpu/weightMatrix.ts packs them. */
export function packF16(w: Float32Array): Uint32Array {
  const words = new Uint32Array(Math.ceil(w.length / 2));
  for (let i = 0; i < w.length; i++) words[i >> 1]! |= f32ToF16(w[i]!) << (16 * (i & 1));
  return words;
}

/** Columns of the output row each case writes: outputs go to [COL0, COL0 + N) of rows LDY wide. */
const COL0 = 2;
const ldyOf = (c: KernelCase) => (c.kernel === 'embed' ? c.K : c.N + 5);

/** The float64 answer, laid out as the kernel's output buffer ([T, LDY], or [T, K] for embed). */
export function cpuAnswer(c: KernelCase, d: CaseData): Float64Array {
  const ldy = ldyOf(c);
  const out = new Float64Array(c.T * ldy);
  for (let t = 0; t < c.T; t++) {
    if (c.kernel === 'embed') {
      const tok = d.tokens[t]!;
      for (let i = 0; i < c.K; i++) out[t * ldy + i] = tok < c.N ? d.w[tok * c.K + i]! : -1;
      continue;
    }
    for (let n = 0; n < c.N; n++) {
      let acc = d.bias[1 + n]!;
      for (let k = 0; k < c.K; k++) acc += d.x[t * c.K + k]! * d.w[n * c.K + k]!;
      out[t * ldy + COL0 + n] = acc;
    }
  }
  return out;
}

/** Makes the pipeline that runs `c` with `consts` (its twin's name and any F16 constant are the caller's). */
export type PipelineFor = (consts: Consts) => { kernel: ShaderName; pipeline: GPUComputePipeline };

/** One dispatch of a prepared case. */
interface Step {
  pipeline: GPUComputePipeline;
  bindGroup: GPUBindGroup;
  size: [number, number, number];
}

/** A case on the GPU: its buffers and dispatches made once, to run (and read) or to time. */
export interface PreparedCase {
  encode(pass: GPUComputePassEncoder): void;
  /** The output buffer as f32. */
  read(): Promise<Float32Array>;
  destroy(): void;
}

/**
 * Puts `c` on the GPU: weights from `wWords` (packed f16, or whatever layout `pipelineFor`'s kernel reads),
 * inputs from `d`. The embedding's output starts at -1 everywhere, so a token it must skip stays -1, as the
 * CPU answer says.
 */
export function prepareCase(
  device: GPUDevice,
  c: KernelCase,
  d: Pick<CaseData, 'x' | 'tokens' | 'bias'>,
  wWords: ArrayBufferView,
  pipelineFor: PipelineFor,
): PreparedCase {
  const made: GPUBuffer[] = [];
  const S = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
  const buffer = (data: ArrayBufferView, usage = S, minBytes = 16) => {
    const b = device.createBuffer({
      size: Math.max(minBytes, Math.ceil(data.byteLength / 16) * 16),
      usage,
    });
    device.queue.writeBuffer(b, 0, data.buffer as ArrayBuffer, data.byteOffset, data.byteLength);
    made.push(b);
    return b;
  };
  const U = GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST;
  const ldy = ldyOf(c);
  const outBytes = c.T * ldy * 4;
  const Y = buffer(new Float32Array(c.T * ldy).fill(c.kernel === 'embed' ? -1 : 0));
  const W = buffer(wWords);
  const dims = buffer(new Uint32Array([c.T, 0, 0, 0]), U);
  const [target, maxSplit] = c.split ?? [0, 0];
  const shape = buffer(new Uint32Array([c.N, c.K, ldy, COL0, 1, 1, target, maxSplit]), U, 32);
  const X = buffer(d.x);
  const bias = buffer(d.bias);
  const { kernel, pipeline } = pipelineFor(c.consts);
  const steps: Step[] = [];
  const step = (r: Record<string, GPUBuffer>, size: [number, number, number]) =>
    // The twins share binding names, which the generated tables check by the kernel's own name.
    steps.push({ pipeline, bindGroup: createBindGroup(device, pipeline, kernel, kernel, r as never), size });
  const ceil = (a: number, b: number) => Math.ceil(a / b);
  switch (c.kernel) {
    case 'embed': {
      const part = buffer(new Uint32Array([0, c.N, 0, 0]), U);
      const tokens = buffer(d.tokens);
      step({ dims, tokens, W, resid: Y, part }, [ceil(c.K, 64), c.T, 1]);
      break;
    }
    case 'gemv':
      step({ shape, X, W, bias, Y }, [ceil(ceil(c.N, 4), 64), 1, 1]);
      break;
    case 'gemv_coop':
    case 'gemv_subgroup':
      step({ shape, X, W, bias, Y }, [c.N, 1, 1]);
      break;
    case 'gemv_fused':
    case 'gemv_fused_sg': {
      // The fused GEMV reads its bias from the layer's parameters: the bias at offset 1, as elsewhere.
      const params = buffer(d.bias);
      const state = buffer(new Float32Array(4));
      const xc = buffer(new Float32Array(4));
      step({ shape, X, W, params, Y, state, xc }, [ceil(c.N, Number(c.consts['ROWS'] ?? 1)), 1, 1]);
      break;
    }
    case 'gemm_reg':
      step({ dims, shape, X, W, bias, Y }, [ceil(ceil(c.N, 4), 64), ceil(c.T, 4), 1]);
      break;
    case 'gemm_tiled': {
      const TM = Number(c.consts['TM']);
      const TN = Number(c.consts['TN']);
      const split = splitCount(c.T, c.N, TM, TN, target, maxSplit);
      const P = buffer(new Float32Array(Math.max(1, split) * c.T * c.N));
      step({ dims, shape, X, W, bias, Y, P }, [ceil(c.N, 16 * TN), ceil(c.T, 16 * TM), split]);
      if (split > 1) {
        const reduce = device.createComputePipeline({
          layout: 'auto',
          compute: {
            module: device.createShaderModule({ code: shaderSources['gemm_splitk_reduce']! }),
            entryPoint: 'main',
            constants: { TM, TN },
          },
        });
        const r = { dims, bias, Y, shape, P };
        const bindGroup = createBindGroup(device, reduce, 'gemm_splitk_reduce', 'reduce', r);
        steps.push({ pipeline: reduce, bindGroup, size: [ceil(c.N, 64), c.T, 1] });
      }
      break;
    }
  }
  return {
    encode(pass) {
      for (const s of steps) {
        pass.setPipeline(s.pipeline);
        pass.setBindGroup(0, s.bindGroup);
        pass.dispatchWorkgroups(...s.size);
      }
    },
    async read() {
      const enc = device.createCommandEncoder();
      const rb = device.createBuffer({
        size: outBytes,
        usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
      });
      enc.copyBufferToBuffer(Y, 0, rb, 0, outBytes);
      device.queue.submit([enc.finish()]);
      await rb.mapAsync(GPUMapMode.READ);
      const out = new Float32Array(rb.getMappedRange().slice(0));
      rb.destroy();
      return out;
    },
    destroy() {
      for (const b of made) b.destroy();
    },
  };
}

/** Runs `c` once (prepareCase) and returns its output as f32. */
export async function runCase(
  device: GPUDevice,
  c: KernelCase,
  d: CaseData,
  wWords: ArrayBufferView,
  pipelineFor: PipelineFor,
): Promise<Float32Array> {
  const run = prepareCase(device, c, d, wWords, pipelineFor);
  try {
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    run.encode(pass);
    pass.end();
    device.queue.submit([enc.finish()]);
    return await run.read();
  } finally {
    run.destroy();
  }
}

/**
 * Milliseconds per call of a prepared case: `reps` calls in one pass, after one untimed pass, timed on the host
 * from submit to onSubmittedWorkDone (so the figure includes one submit's overhead spread over `reps`).
 */
export async function timeCase(device: GPUDevice, run: PreparedCase, reps: number): Promise<number> {
  const once = async (n: number) => {
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    for (let i = 0; i < n; i++) run.encode(pass);
    pass.end();
    const t0 = performance.now();
    device.queue.submit([enc.finish()]);
    await device.queue.onSubmittedWorkDone();
    return performance.now() - t0;
  };
  await once(Math.min(reps, 3));
  return (await once(reps)) / reps;
}

/** max |a − b| / max(1, max |b|) over the cells both have (the fixtures' measure). */
export function relError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let diff = 0;
  let scale = 1;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    diff = Number.isNaN(d) ? Infinity : Math.max(diff, d);
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / scale;
}

/**
 * A native-f16 kernel's WGSL with every f16 read as f32 (`enable f16;` dropped, `f16` → `f32`): it runs on an
 * adapter without shader-f16 on f32 weights at the same element indices, which checks the twin's indexing,
 * loads and sums everywhere; only the f16 types themselves are left to the GPU machine (bench/check-f16.ts).
 */
export function halfAsF32(code: string): string {
  if (!/^enable f16;$/m.test(code)) throw new Error('not a native-f16 kernel (no "enable f16;")');
  return code.replace(/^enable f16;$/m, '').replace(/\bf16\b/g, 'f32');
}
