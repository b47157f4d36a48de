/**
 * Kernels on a real adapter against plain CPU references at awkward sizes: the matmul kernels (register
 * GEMM, GEMV, cooperative GEMVs, and the register-tiled GEMM with its split-K reduce) in f32 and packed f16, and the GPU sampler against a
 * known distribution. The conv, scan, norm and embedding kernels are checked through whole random models
 * in tests/kernels.models.test.ts.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { openNodeDevice } from '../src/engine/gpu/node.ts';
import type { EngineDevice } from '../src/engine/gpu/device.ts';
import { PipelineCache } from '../src/engine/kernels/pipelines.ts';
import { splitCount } from '../src/engine/model.ts';
import { packWeights, planRowParts } from '../src/engine/gpu/weightMatrix.ts';
import { f16ToF32, f32ToF16 } from '../src/model/safetensors.ts';
import { relMaxDiff } from './helpers/fixtures.ts';
import { readBuffer, rng, storageBuffer, withScope } from './helpers/gpu.ts';

let dev: EngineDevice;
let pipes: PipelineCache;
beforeAll(async () => {
  dev = await openNodeDevice();
  pipes = PipelineCache.forDevice(dev.device);
});

function storage(data: ArrayBufferView, extra = 0): GPUBuffer {
  return storageBuffer(dev.device, data, extra);
}

function uniform(words: ArrayBufferView): GPUBuffer {
  const b = dev.device.createBuffer({ size: 16, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  dev.device.queue.writeBuffer(b, 0, words.buffer as ArrayBuffer, words.byteOffset, words.byteLength);
  return b;
}

function read(b: GPUBuffer, bytes: number): Promise<ArrayBuffer> {
  return readBuffer(dev.device, b, bytes);
}

function randn(n: number, next: () => number): Float32Array {
  return Float32Array.from({ length: n }, () => next() * 2 - 1);
}

/**
 * One matmul check: X [T, K], W [N, K] split in two row parts as the engine does for oversized bindings, a
 * bias read from element 1, and Y [T, N + 5] written at columns 2 .. N + 1.
 */
function matmulCase(T: number, N: number, K: number, dtype: 'f32' | 'f16', next: () => number) {
  const x = randn(T * K, next);
  const w = randn(N * K, next);
  const bias = randn(N + 3, next);
  // The CPU side uses the weights as the GPU sees them (f16-rounded when packed).
  const wSeen = dtype === 'f16' ? w.map((v) => f16ToF32(f32ToF16(v))) : w;
  const parts = planRowParts(N, K, dtype, Math.ceil(N / 2) * K * (dtype === 'f16' ? 2 : 4) + 16);
  expect(parts.length).toBe(2);
  return { T, N, K, x, w, bias, wSeen, col0: 2, ldy: N + 5, parts };
}

/** Checks Y (`got`, [T, ldy]) against matVec of every token plus the bias, within 1e-5. */
function expectMatmul(got: Float32Array, c: ReturnType<typeof matmulCase>) {
  const { T, N, K, x, wSeen, bias, col0, ldy } = c;
  const want = new Float64Array(T * N);
  const gotRows = new Float32Array(T * N);
  for (let t = 0; t < T; t++) {
    for (let n = 0; n < N; n++) {
      let acc = bias[1 + n]!;
      for (let k = 0; k < K; k++) acc += x[t * K + k]! * wSeen[n * K + k]!;
      want[t * N + n] = acc;
      gotRows[t * N + n] = got[t * ldy + col0 + n]!;
    }
    // Columns outside [col0, col0 + N) stay untouched (zero).
    expect(got[t * ldy]).toBe(0);
    expect(got[t * ldy + col0 + N]).toBe(0);
  }
  expect(relMaxDiff(gotRows, want), `T=${T} N=${N} K=${K}`).toBeLessThan(1e-5);
}

describe('matmul kernels against matVec', () => {
  // [tokens, outputs, inputs]: odd K (f16 pairs straddle rows), N and T off every tile size, T = 1.
  const shapes: [number, number, number][] = [
    [1, 67, 33],
    [5, 130, 96],
    [70, 67, 35],
  ];
  for (const kernel of ['gemm_reg', 'gemv', 'gemv_coop', 'gemv_subgroup'] as const) {
    for (const dtype of ['f32', 'f16'] as const) {
      it(`${kernel} ${dtype}`, async (ctx) => {
        if (kernel === 'gemv_subgroup' && !dev.hasSubgroups) ctx.skip();
        await withScope(dev.device, async () => {
          const next = rng(11);
          for (const [T0, N, K] of shapes) {
            const T = kernel.startsWith('gemv') ? 1 : T0;
            const c = matmulCase(T, N, K, dtype, next);
            const { x, w, bias, col0, ldy, parts } = c;
            const bx = storage(x);
            const bb = storage(bias);
            const by = storage(new Float32Array(T * ldy));
            const dims = uniform(new Uint32Array([T, 0, 0, 0]));
            const enc = dev.device.createCommandEncoder();
            const pass = enc.beginComputePass();
            const made: GPUBuffer[] = [];
            for (const p of parts) {
              const bw = storage(packWeights(w.slice(p.row0 * K, (p.row0 + p.rows) * K), dtype));
              made.push(bw);
              const shape = dev.device.createBuffer({
                size: 32,
                usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
              });
              const words = [p.rows, K, ldy, col0 + p.row0, 1 + p.row0, 1, 0, 0];
              dev.device.queue.writeBuffer(shape, 0, new Uint32Array(words));
              made.push(shape);
              const io = { shape, X: bx, W: bw, bias: bb, Y: by };
              const consts = { F16: dtype === 'f16' };
              // The GEMVs run one token and declare no dims uniform; gemm_reg reads T from it.
              const k = pipes.kernel(kernel, consts);
              const bindGroup =
                kernel === 'gemm_reg'
                  ? pipes.kernel(kernel, consts).bind(kernel, { ...io, dims })
                  : k.bind(kernel, io);
              pass.setPipeline(k.pipeline);
              pass.setBindGroup(0, bindGroup);
              if (kernel === 'gemm_reg')
                pass.dispatchWorkgroups(Math.ceil(p.rows / 4 / 64), Math.ceil(T / 4));
              else if (kernel === 'gemv') pass.dispatchWorkgroups(Math.ceil(p.rows / 4 / 64));
              else pass.dispatchWorkgroups(p.rows);
            }
            pass.end();
            dev.device.queue.submit([enc.finish()]);
            expectMatmul(new Float32Array(await read(by, T * ldy * 4)), c);
            for (const b of [bx, bb, by, dims, ...made]) b.destroy();
          }
        });
      });
    }
  }
});

describe('gemm_tiled (hardware prefill GEMM) and its split-K reduce against matVec', () => {
  // [tokens, outputs, inputs]: odd K (f16 pairs straddle rows), N and T off every tile, K off the 16-k step.
  const shapes: [number, number, number][] = [
    [1, 67, 33],
    [70, 67, 35],
    [130, 140, 300],
  ];
  // [TM, TN, SPLIT_TARGET, MAX_SPLIT]: 64 x 64 and 128 x 128 tiles, one split, and split-K up to 7 ways
  // (more splits than 16-k steps at K = 33, so some z ranges are empty and must write zeros).
  const configs: [number, number, number, number][] = [
    [4, 4, 1, 1],
    [8, 8, 1, 1],
    [4, 8, 1, 1],
    [4, 4, 64, 7],
    [8, 4, 64, 3],
  ];
  for (const [TM, TN, target, maxSplit] of configs) {
    for (const dtype of ['f32', 'f16'] as const) {
      it(`${TM * 16} x ${TN * 16} tiles, split-K target ${target} (at most ${maxSplit}), ${dtype}`, async () => {
        await withScope(dev.device, async () => {
          const next = rng(13);
          const consts = { TM, TN };
          const gemm = pipes.kernel('gemm_tiled', { F16: dtype === 'f16', ...consts });
          const reduce = pipes.kernel('gemm_splitk_reduce', consts);
          for (const [T, N, K] of shapes) {
            const c = matmulCase(T, N, K, dtype, next);
            const { x, w, bias, col0, ldy, parts } = c;
            const bx = storage(x);
            const bb = storage(bias);
            const by = storage(new Float32Array(T * ldy));
            const bp = storage(new Float32Array(maxSplit * T * N));
            const dims = uniform(new Uint32Array([T, 0, 0, 0]));
            const made: GPUBuffer[] = [];
            let maxUsed = 1;
            for (const p of parts) {
              // One pass per part: the parts share the partial-sum buffer.
              const enc = dev.device.createCommandEncoder();
              const pass = enc.beginComputePass();
              const bw = storage(packWeights(w.slice(p.row0 * K, (p.row0 + p.rows) * K), dtype));
              made.push(bw);
              const shape = dev.device.createBuffer({
                size: 32,
                usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
              });
              const words = [p.rows, K, ldy, col0 + p.row0, 1 + p.row0, 1, target, maxSplit];
              dev.device.queue.writeBuffer(shape, 0, new Uint32Array(words));
              made.push(shape);
              const split = splitCount(T, p.rows, TM, TN, target, maxSplit);
              maxUsed = Math.max(maxUsed, split);
              pass.setPipeline(gemm.pipeline);
              pass.setBindGroup(
                0,
                gemm.bind('gemm_tiled', { dims, X: bx, W: bw, bias: bb, Y: by, shape, P: bp }),
              );
              pass.dispatchWorkgroups(Math.ceil(p.rows / (16 * TN)), Math.ceil(T / (16 * TM)), split);
              if (split > 1) {
                pass.setPipeline(reduce.pipeline);
                pass.setBindGroup(0, reduce.bind('reduce', { dims, bias: bb, Y: by, shape, P: bp }));
                pass.dispatchWorkgroups(Math.ceil(p.rows / 64), T);
              }
              pass.end();
              dev.device.queue.submit([enc.finish()]);
            }
            if (maxSplit > 1 && T > 1) expect(maxUsed).toBeGreaterThan(1);
            expectMatmul(new Float32Array(await read(by, T * ldy * 4)), c);
            for (const b of [bx, bb, by, bp, dims, ...made]) b.destroy();
          }
        });
      });
    }
  }
});

describe('GPU sampler', () => {
  /** Draws `n` ids from `logits` by dispatching the sampler n times (its RNG state advances each time). */
  async function draws(logits: Float32Array, n: number, t: number, topK: number, topP: number, wg: number) {
    const V = logits.length;
    const sampler = pipes.kernel('sample', { V, WG: wg });
    const p = new ArrayBuffer(16);
    new Float32Array(p, 0, 1)[0] = t;
    new Uint32Array(p, 4, 1)[0] = topK;
    new Float32Array(p, 8, 1)[0] = topP;
    const params = uniform(new Uint8Array(p));
    const bl = storage(logits);
    const br = storage(new Uint32Array([12345]));
    const bt = storage(new Uint32Array(4));
    const bo = storage(new Uint32Array(35));
    const all = storage(new Uint32Array(n));
    const bg = sampler.bind('sample', { params, logits: bl, rng: br, tokens: bt, out: bo });
    const enc = dev.device.createCommandEncoder();
    for (let i = 0; i < n; i++) {
      const pass = enc.beginComputePass();
      pass.setPipeline(sampler.pipeline);
      pass.setBindGroup(0, bg);
      pass.dispatchWorkgroups(1);
      pass.end();
      enc.copyBufferToBuffer(bo, 0, all, i * 4, 4);
    }
    dev.device.queue.submit([enc.finish()]);
    const ids = new Uint32Array(await read(all, n * 4));
    for (const b of [params, bl, br, bt, bo, all]) b.destroy();
    return ids;
  }

  /** The distribution the sampler must follow: softmax(l / t), top-k, then the nucleus. */
  function target(logits: Float32Array, t: number, topK: number, topP: number): Float64Array {
    const order = [...logits.keys()].sort((i, j) => logits[j]! - logits[i]! || i - j);
    const keep = order.slice(0, topK > 0 ? topK : logits.length);
    const m = logits[order[0]!]!;
    const w = keep.map((i) => Math.exp((logits[i]! - m) / t));
    const z = w.reduce((a, b) => a + b, 0);
    const p = new Float64Array(logits.length);
    let mass = 0;
    for (let j = 0; j < keep.length; j++) {
      if (topP > 0 && topP < 1 && mass >= topP) break;
      p[keep[j]!] = w[j]! / z;
      mass += w[j]! / z;
    }
    const s = p.reduce((a, b) => a + b, 0);
    return p.map((v) => v / s);
  }

  for (const wg of [4, 256]) {
    it(`draws follow softmax(l/T) with top-k and top-p (chi-square, workgroup ${wg})`, async () => {
      await withScope(dev.device, async () => {
        // 300 ids: 10 plausible ones with distinct logits and a long tail that top-k and top-p must cut.
        const next = rng(5);
        const logits = Float32Array.from({ length: 300 }, (_, i) =>
          i % 30 === 7 ? 2 + (i / 30) * 0.35 : -3 + next(),
        );
        const cases: [number, number, number][] = [
          [1, 0, 1],
          [0.8, 6, 1],
          [1.3, 0, 0.7],
          [1, 8, 0.9],
        ];
        // The 256-wide variant (for GPUs) is slow on SwiftShader: there, one case with fewer draws.
        const n = wg === 4 ? 3000 : 300;
        for (const [t, k, p] of wg === 4 ? cases : cases.slice(-1)) {
          const ids = await draws(logits, n, t, k, p, wg);
          const want = target(logits, t, k, p);
          const counts = new Float64Array(logits.length);
          for (const id of ids) counts[id]! += 1;
          let chi = 0;
          let dof = -1;
          let tail = 0;
          let tailCount = 0;
          for (let i = 0; i < logits.length; i++) {
            if (want[i] === 0) {
              expect(counts[i], `id ${i} is outside the kept set (T=${t} k=${k} p=${p})`).toBe(0);
              continue;
            }
            // Pool rare ids so every chi-square cell expects at least 5 draws.
            if (want[i]! * n < 5) {
              tail += want[i]! * n;
              tailCount += counts[i]!;
              continue;
            }
            chi += (counts[i]! - want[i]! * n) ** 2 / (want[i]! * n);
            dof += 1;
          }
          if (tail > 0) {
            chi += (tailCount - tail) ** 2 / Math.max(tail, 1e-9);
            dof += 1;
          }
          // 99.9th percentile of chi-square with dof degrees of freedom (Wilson–Hilferty), so a correct
          // sampler fails this at most once in a thousand runs (the seed is fixed, so it is deterministic).
          const z = 3.09;
          const bound = dof * (1 - 2 / (9 * dof) + z * Math.sqrt(2 / (9 * dof))) ** 3;
          expect(chi, `T=${t} k=${k} p=${p}: chi ${chi.toFixed(1)} dof ${dof}`).toBeLessThan(bound);
        }
      });
    });
  }

  it('temperature 0 is the argmax (smallest id on ties)', async () => {
    await withScope(dev.device, async () => {
      const logits = new Float32Array(1000).fill(-1);
      logits[700] = 3;
      logits[901] = 3;
      for (const wg of [4, 256]) {
        const ids = await draws(logits, 3, 0, 0, 1, wg);
        expect([...ids]).toEqual([700, 700, 700]);
      }
    });
  });
});
