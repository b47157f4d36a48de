/**
 * What the Mamba-2 kernel tests (kernels.mamba2, kernels.mamba2-batch) share: buffers made for one test and
 * destroyed together, with `run` encoding the steps and reading buffers back, and inputs drawn uniformly.
 */
import { encodeDispatches, type Dispatch } from '../../src/engine/kernels/pipelines.ts';
import { writeUniform } from '../../src/engine/kernels/uniforms.ts';
import { rng } from './gpu.ts';

export class Buffers {
  private made: GPUBuffer[] = [];
  constructor(private readonly device: GPUDevice) {}
  storage(data: Float32Array<ArrayBuffer> | Uint32Array<ArrayBuffer> | number): GPUBuffer {
    const bytes = typeof data === 'number' ? 4 * data : data.byteLength;
    const b = this.device.createBuffer({
      size: Math.max(16, Math.ceil(bytes / 16) * 16),
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC,
    });
    if (typeof data !== 'number') this.device.queue.writeBuffer(b, 0, data);
    this.made.push(b);
    return b;
  }
  dims(T: number): GPUBuffer {
    const b = this.device.createBuffer({ size: 16, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    // Every Mamba-2 kernel reads the same Dims struct; m2_conv's layout writes it.
    writeUniform(this.device.queue, b, 'm2_conv', 'dims', { T, pos0: 0 });
    this.made.push(b);
    return b;
  }
  async run(steps: Dispatch[], T: number, reads: [GPUBuffer, number][]): Promise<Float32Array[]> {
    const enc = this.device.createCommandEncoder();
    const pass = enc.beginComputePass();
    encodeDispatches(pass, steps, T);
    pass.end();
    const staging = reads.map(([src, n]) => {
      const r = this.device.createBuffer({
        size: 4 * n,
        usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
      });
      enc.copyBufferToBuffer(src, 0, r, 0, 4 * n);
      this.made.push(r);
      return r;
    });
    this.device.queue.submit([enc.finish()]);
    return Promise.all(
      staging.map(async (r) => {
        await r.mapAsync(GPUMapMode.READ);
        return new Float32Array(r.getMappedRange().slice(0));
      }),
    );
  }
  destroy() {
    for (const b of this.made) b.destroy();
  }
}

/** n values uniform in [−scale, scale), from a seeded generator. */
export function uniformRandom(seed: number) {
  const next = rng(seed);
  return (n: number, scale = 1) => Float32Array.from({ length: n }, () => scale * (next() * 2 - 1));
}
