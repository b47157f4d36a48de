/**
 * A kernel bound by name and fed a uniform written by field name, on a real adapter: the fused decode GEMV
 * (shaders/gemv_fused.wgsl, both the workgroup-memory and the subgroup variant) with a bias and the ACCUM
 * epilogue, made by PipelineCache.kernel(…).dispatch(label, { shape, X, W, params, Y, state, xc }, size)
 * with its Shape written through the generated layout, against matVec (src/engine/reference/mamba.ts) in
 * float64 within a relative 1e-5 of the largest output; once more with W bound as a range of a larger buffer
 * (`{ buffer, offset, size }`, the way a prefill GEMM binds a block of a weight part's rows) whose bytes outside
 * the range are garbage.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { EngineDevice } from '../src/engine/gpu/device.ts';
import { openNodeDevice } from '../src/engine/gpu/node.ts';
import { encodeDispatches, PipelineCache } from '../src/engine/kernels/pipelines.ts';
import { writeUniform } from '../src/engine/kernels/uniforms.ts';
import { matVec } from '../src/engine/reference/mamba.ts';
import { rng, withScope } from './helpers/gpu.ts';

let dev: EngineDevice;
beforeAll(async () => {
  dev = await openNodeDevice();
});

// W's place: the whole buffer, or `atAlignment` multiples of the device's storage offset alignment into one.
const CASES = [
  { kernel: 'gemv_fused', atAlignment: 0 },
  { kernel: 'gemv_fused_sg', atAlignment: 0 },
  { kernel: 'gemv_fused', atAlignment: 2 },
] as const;

describe('binding by name on a real adapter', () => {
  for (const { kernel, atAlignment } of CASES) {
    const where = atAlignment > 0 ? `, W a range of a larger buffer` : '';
    it(`${kernel}: Y[COL0 + n] += W x + bias, 3 rows per workgroup${where}`, async (ctx) => {
      if (kernel === 'gemv_fused_sg' && !dev.hasSubgroups) ctx.skip();
      const device = dev.device;
      const made: GPUBuffer[] = [];
      const buffer = (bytes: number, usage: number, data?: ArrayBufferView<ArrayBuffer>) => {
        const b = device.createBuffer({ size: Math.max(16, bytes), usage: usage | GPUBufferUsage.COPY_DST });
        if (data) device.queue.writeBuffer(b, 0, data);
        made.push(b);
        return b;
      };
      const S = GPUBufferUsage.STORAGE;
      const next = rng(5);
      const [N, K, col0, biasOff] = [37, 52, 3, 6];
      const x = Float32Array.from({ length: K }, () => next() * 2 - 1);
      const w = Float32Array.from({ length: N * K }, () => next() * 2 - 1);
      const params = Float32Array.from({ length: biasOff + N }, () => next() * 2 - 1);
      const y0 = Float32Array.from({ length: col0 + N + 2 }, () => next() * 2 - 1);
      // W's range starts `offset` bytes in, with garbage (large, so a misplaced read shows) before and after it.
      const offset = atAlignment * device.limits.minStorageBufferOffsetAlignment;
      const wBytes = 4 * N * K;
      const wHost = Float32Array.from({ length: (offset + wBytes) / 4 + 8 }, () => 1e3 * (next() - 0.5));
      wHost.set(w, offset / 4);

      const got = await withScope(device, async () => {
        const k = PipelineCache.forDevice(device).kernel(kernel, { F16: false, ACCUM: true, ROWS: 3 });
        const shape = buffer(32, GPUBufferUsage.UNIFORM);
        writeUniform(device.queue, shape, kernel, 'shape', {
          N,
          K,
          LDY: 0,
          COL0: col0,
          BIAS_OFF: biasOff,
          HAS_BIAS: 1,
          SPLIT_TARGET: 0,
          MAX_SPLIT: 0,
        });
        const Y = buffer(4 * y0.length, S | GPUBufferUsage.COPY_SRC, y0);
        const step = k.dispatch(
          'test',
          {
            shape,
            X: buffer(4 * K, S, x),
            // f32 weights as their bits, as packWeights stores them.
            W:
              offset > 0
                ? { buffer: buffer(wHost.byteLength, S, wHost), offset, size: wBytes }
                : buffer(wBytes, S, new Uint32Array(w.buffer)),
            params: buffer(4 * params.length, S, params),
            Y,
            state: buffer(16, S),
            xc: buffer(16, S),
          },
          () => [Math.ceil(N / 3), 1, 1],
        );
        const read = buffer(4 * y0.length, GPUBufferUsage.MAP_READ);
        const enc = device.createCommandEncoder();
        const pass = enc.beginComputePass();
        encodeDispatches(pass, [step], 1);
        pass.end();
        enc.copyBufferToBuffer(Y, 0, read, 0, 4 * y0.length);
        device.queue.submit([enc.finish()]);
        await read.mapAsync(GPUMapMode.READ);
        return new Float32Array(read.getMappedRange().slice(0));
      });
      for (const b of made) b.destroy();

      const want = Float64Array.from(y0);
      matVec(w, x, N, K, params.subarray(biasOff)).forEach((v, n) => (want[col0 + n]! += v));
      const scale = Math.max(...want.map(Math.abs));
      const worst = Math.max(...want.map((v, i) => Math.abs(v - got[i]!)));
      expect(worst / scale).toBeLessThan(1e-5);
      // Outside [COL0, COL0 + N) the buffer is as it was.
      expect([...got.subarray(0, col0), ...got.subarray(col0 + N)]).toEqual([
        ...y0.subarray(0, col0),
        ...y0.subarray(col0 + N),
      ]);
    });
  }

  it('refuses a bind group with a misspelt name before WebGPU sees it', () => {
    const k = PipelineCache.forDevice(dev.device).kernel('mix_mean');
    const b = dev.device.createBuffer({ size: 16, usage: GPUBufferUsage.STORAGE });
    expect(() =>
      // @ts-expect-error: `baseline` is not a binding of mix_mean (the names are typed from the WGSL too).
      k.bind('bad', { acc: b, src: b, baseline: b, params: b }),
    ).toThrow('Bind group of "mix_mean" (group 0): missing base; not bindings of this kernel: baseline.');
    b.destroy();
  });
});
