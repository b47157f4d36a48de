/**
 * The fused decode GEMV (shaders/gemv_fused.wgsl) at the row lengths where, with STEPS4, its main loop takes four
 * steps at a time (more than 192 vec4 loads per row: K > 1,536 in f16, K > 768 in f32) and where that loop leaves
 * a remainder, or does not run at all, with STEPS4 on and off, on a real adapter against a float64 product. f16 weights are rounded to f16
 * for the reference, so what differs is f32 accumulation: 1e-5 relative, the tolerance of the other kernel tests.
 * With and without the RMSNorm prologue, the residual add (ACCUM) and a bias, 1, 3 and 4 rows per workgroup (3
 * leaves a partial workgroup), with and without subgroups. The engine's tests cover these kernels only at the
 * fixtures' widths (64 to 768), where the four-step loop never runs.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { EngineDevice } from '../src/engine/gpu/device.ts';
import { openNodeDevice } from '../src/engine/gpu/node.ts';
import { packWeights } from '../src/engine/gpu/weightMatrix.ts';
import { PipelineCache } from '../src/engine/kernels/pipelines.ts';
import { f16ToF32, f32ToF16 } from '../src/model/safetensors.ts';
import { relMaxDiff } from './helpers/fixtures.ts';
import { readBuffer, rng, storageBuffer, withScope } from './helpers/gpu.ts';

let dev: EngineDevice;
let pipes: PipelineCache;
beforeAll(async () => {
  dev = await openNodeDevice();
  pipes = PipelineCache.forDevice(dev.device);
});

interface Case {
  steps4: boolean;
  f16: boolean;
  K: number;
  rows: number;
  norm: boolean;
  accum: boolean;
  bias: boolean;
}

const N = 37;
const COL0 = 3;
const EPS = 1e-5;

async function check(kernel: 'gemv_fused' | 'gemv_fused_sg', c: Case, next: () => number): Promise<void> {
  const { K } = c;
  const wave = (n: number, s: number) => Float32Array.from({ length: n }, () => s * (next() * 2 - 1));
  const x = wave(K, 2);
  // Rows of different magnitudes, and in f16 the weights the kernel will see.
  const w = Float32Array.from({ length: N * K }, (_, i) => (next() * 2 - 1) * (1 + (Math.floor(i / K) % 5)));
  const held = c.f16 ? w.map((v) => f16ToF32(f32ToF16(v))) : w;
  // params: the norm weight at 0 .. K − 1, the bias at K .. K + N − 1.
  const params = new Float32Array(K + N);
  params.set(wave(K, 1).map((v) => 1 + 0.5 * v));
  params.set(wave(N, 0.3), K);
  const y0 = wave(COL0 + N + 2, 1);

  let scale = 1;
  if (c.norm) {
    let ss = 0;
    for (const v of x) ss += v * v;
    scale = 1 / Math.sqrt(ss / K + EPS);
  }
  const want = new Float64Array(N);
  for (let n = 0; n < N; n++) {
    let acc = 0;
    for (let k = 0; k < K; k++) acc += held[n * K + k]! * x[k]! * (c.norm ? params[k]! : 1);
    let v = acc * scale;
    if (c.bias) v += params[K + n]!;
    want[n] = (c.accum ? y0[COL0 + n]! : 0) + v;
  }

  const made: GPUBuffer[] = [];
  const storage = (d: ArrayBufferView) => {
    const b = storageBuffer(dev.device, d);
    made.push(b);
    return b;
  };
  const shapeWords = new Uint32Array([N, K, 0, COL0, K, c.bias ? 1 : 0, 0, 0]);
  const shape = dev.device.createBuffer({
    size: shapeWords.byteLength,
    usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
  });
  dev.device.queue.writeBuffer(shape, 0, shapeWords);
  made.push(shape);
  const by = storage(y0);
  const io = {
    shape,
    X: storage(x),
    W: storage(packWeights(w, c.f16 ? 'f16' : 'f32', K)),
    params: storage(params),
    Y: by,
    state: storage(new Float32Array(4)),
    xc: storage(new Float32Array(4)),
  };
  const k = pipes.kernel(kernel, {
    F16: c.f16,
    STEPS4: c.steps4,
    ROWS: c.rows,
    NORM: c.norm,
    ACCUM: c.accum,
    EPS,
    NW_OFF: 0,
  });
  const enc = dev.device.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setPipeline(k.pipeline);
  pass.setBindGroup(0, k.bind(kernel, io));
  pass.dispatchWorkgroups(Math.ceil(N / c.rows));
  pass.end();
  dev.device.queue.submit([enc.finish()]);
  const got = new Float32Array(await readBuffer(dev.device, by, y0.byteLength));
  made.forEach((b) => b.destroy());
  const label = `${kernel}${c.steps4 ? ' STEPS4' : ''} ${c.f16 ? 'f16' : 'f32'} K=${K} rows ${c.rows}${c.norm ? ' norm' : ''}${c.accum ? ' accum' : ''}${c.bias ? ' bias' : ''}`;
  // Outside columns COL0 .. COL0 + N − 1 nothing is written.
  for (const i of [0, 1, 2, COL0 + N, COL0 + N + 1]) expect(got[i], label).toBe(y0[i]);
  expect(relMaxDiff(got.subarray(COL0, COL0 + N), want), label).toBeLessThan(1e-5);
}

// K per dtype: the four-step loop once per invocation plus one more step (f16 2,560: 320 vec4 loads per row
// for 64 invocations; f32 1,040: 260), once for a few invocations only (193 loads: 1,544 and 772), never (64, 36).
const widths: [boolean, number][] = [
  [true, 2560],
  [true, 1544],
  [true, 64],
  [false, 1040],
  [false, 772],
  [false, 36],
];

describe('fused decode GEMV at long rows (four steps at a time with STEPS4, and one)', () => {
  for (const kernel of ['gemv_fused', 'gemv_fused_sg'] as const) {
    for (const [f16, K] of widths) {
      it(`${kernel}, ${f16 ? 'f16' : 'f32'} weights, K = ${K}`, async (ctx) => {
        if (kernel === 'gemv_fused_sg' && !dev.hasSubgroups) ctx.skip();
        await withScope(dev.device, async () => {
          const next = rng(K + (f16 ? 1 : 0));
          for (const steps4 of [true, false]) {
            for (const rows of [1, 3, 4]) {
              await check(kernel, { steps4, f16, K, rows, norm: false, accum: false, bias: false }, next);
              const fused = { norm: true, accum: rows !== 3, bias: rows !== 1 };
              await check(kernel, { steps4, f16, K, rows, ...fused }, next);
            }
          }
        });
      });
    }
  }
});
