/**
 * The W8A8 activation pass on a real adapter: shaders/quant_rows_i8.wgsl against quantizeRowsI8
 * (src/engine/w8a8.ts), byte for byte and scale for scale, on rows whose K is not a multiple of 16 (the padding
 * must be zero), a zero row, and a row of exact halfway cases (ties round to even). The int8 GEMM itself needs
 * subgroup matrices, which SwiftShader lacks: bench/check-sgmatrix.ts checks it on the GPU machine.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { EngineDevice } from '../src/engine/gpu/device.ts';
import { openNodeDevice } from '../src/engine/gpu/node.ts';
import { encodeDispatches, PipelineCache } from '../src/engine/kernels/pipelines.ts';
import { writeUniform } from '../src/engine/kernels/uniforms.ts';
import { paddedRowBytes, quantizeRowsI8 } from '../src/engine/w8a8.ts';
import { readBuffer, rng, withScope } from './helpers/gpu.ts';

let dev: EngineDevice;
beforeAll(async () => {
  dev = await openNodeDevice();
});

describe('quant_rows_i8', () => {
  for (const K of [37, 16, 200]) {
    it(`matches quantizeRowsI8 at K = ${K}, padding zero, ties to even`, async () => {
      const device = dev.device;
      const T = 4;
      const next = rng(K);
      const x = Float32Array.from({ length: T * K }, () => (next() * 2 - 1) * 3);
      for (let k = 0; k < K; k++) x[K + k] = 0; // row 1: all zero (scale 0)
      // Row 2: max 127, so scale 1 and these halves are exact ties.
      x.set([127, 2.5, -3.5, 0.5, -0.5, 1.5].slice(0, K), 2 * K);
      const kp = paddedRowBytes(K);
      const S = GPUBufferUsage.STORAGE;
      const made: GPUBuffer[] = [];
      const buffer = (bytes: number, usage: number, data?: ArrayBufferView<ArrayBuffer>) => {
        const b = device.createBuffer({ size: Math.max(16, bytes), usage: usage | GPUBufferUsage.COPY_DST });
        if (data) device.queue.writeBuffer(b, 0, data);
        made.push(b);
        return b;
      };
      const [qBytes, scales] = await withScope(device, async () => {
        const k = PipelineCache.forDevice(device).kernel('quant_rows_i8');
        const dims = buffer(16, GPUBufferUsage.UNIFORM, new Uint32Array([T, 0, 0, 0]));
        const qshape = buffer(16, GPUBufferUsage.UNIFORM);
        writeUniform(device.queue, qshape, 'quant_rows_i8', 'qshape', { K });
        // Q starts as 0xff everywhere, so padding the kernel failed to clear would show.
        const Q = buffer(T * kp, S | GPUBufferUsage.COPY_SRC, new Uint8Array(T * kp).fill(0xff));
        const scale = buffer(4 * T, S | GPUBufferUsage.COPY_SRC);
        const step = k.dispatch('test', { dims, qshape, X: buffer(4 * T * K, S, x), Q, scale }, () => [
          T,
          1,
          1,
        ]);
        const enc = device.createCommandEncoder();
        const pass = enc.beginComputePass();
        encodeDispatches(pass, [step], T);
        pass.end();
        device.queue.submit([enc.finish()]);
        return [
          new Int8Array(await readBuffer(device, Q, T * kp)),
          new Float32Array(await readBuffer(device, scale, 4 * T)),
        ];
      });
      for (const b of made) b.destroy();
      const want = quantizeRowsI8(x, T, K);
      expect(Array.from(scales)).toEqual(Array.from(want.scale));
      for (let t = 0; t < T; t++) {
        expect(Array.from(qBytes.subarray(t * kp, t * kp + K))).toEqual(
          Array.from(want.q.subarray(t * K, (t + 1) * K)),
        );
        expect(Array.from(qBytes.subarray(t * kp + K, (t + 1) * kp)).every((b) => b === 0)).toBe(true);
      }
      expect(Array.from(qBytes.subarray(2 * kp, 2 * kp + Math.min(K, 6)))).toEqual(
        [127, 2, -4, 0, 0, 2].slice(0, K),
      );
    });
  }
});
