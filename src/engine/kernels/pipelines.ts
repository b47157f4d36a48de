/**
 * Compute pipelines from the WGSL in shaders/ (via the generated shaderSources), made once per distinct set
 * of override constants, and a small record of one dispatch (pipeline + bind group + workgroup counts as a
 * function of the chunk length) so a forward pass is encoded from prebuilt parts with no per-token
 * allocation.
 */
import { shaderSources, type ShaderName } from '../shaders.gen.ts';
import { createBindGroup, type BindingResources } from './bindings.ts';

export type Constants = Record<string, number | boolean>;

export interface Dispatch {
  label: string;
  pipeline: GPUComputePipeline;
  bindGroup: GPUBindGroup;
  /** Workgroup counts for a chunk of `t` tokens. */
  size: (t: number) => [number, number, number];
}

/** A pipeline together with its kernel name, so its bind groups are made by binding name. */
export interface KernelPipeline<K extends ShaderName> {
  readonly kernel: K;
  readonly pipeline: GPUComputePipeline;
  /** A bind group with each buffer at the binding of its name (see bindings.ts for the checks). */
  bind(label: string, resources: BindingResources<K>): GPUBindGroup;
  /** One prebuilt dispatch of this pipeline: bound by name, `size` workgroups for a chunk of `t` tokens. */
  dispatch(label: string, resources: BindingResources<K>, size: Dispatch['size']): Dispatch;
}

const caches = new WeakMap<GPUDevice, PipelineCache>();

export class PipelineCache {
  private readonly modules = new Map<string, GPUShaderModule>();
  private readonly pipelines = new Map<string, GPUComputePipeline>();

  constructor(private readonly device: GPUDevice) {}

  /**
   * One cache per device: pipelines depend only on the kernel and its constants, so models of the same
   * shape (reloads, f32/f16 variants, tests) share them; compiling is slow on SwiftShader.
   */
  static forDevice(device: GPUDevice): PipelineCache {
    let c = caches.get(device);
    if (!c) {
      c = new PipelineCache(device);
      caches.set(device, c);
    }
    return c;
  }

  get(kernel: ShaderName, constants: Constants): GPUComputePipeline {
    const key = `${kernel}:${JSON.stringify(constants)}`;
    const hit = this.pipelines.get(key);
    if (hit) return hit;
    let module = this.modules.get(kernel);
    if (!module) {
      const code = shaderSources[kernel];
      if (code === undefined)
        throw new Error(`No shader named "${kernel}" (run node scripts/gen-shaders.mjs).`);
      module = this.device.createShaderModule({ label: kernel, code });
      this.modules.set(kernel, module);
    }
    const numeric: Record<string, number> = {};
    for (const [k, v] of Object.entries(constants)) numeric[k] = typeof v === 'boolean' ? Number(v) : v;
    const pipeline = this.device.createComputePipeline({
      label: key,
      layout: 'auto',
      compute: { module, entryPoint: 'main', constants: numeric },
    });
    this.pipelines.set(key, pipeline);
    return pipeline;
  }

  /** The pipeline of `kernel` for `constants`, with bind groups by name. */
  kernel<K extends ShaderName>(kernel: K, constants: Constants = {}): KernelPipeline<K> {
    const pipeline = this.get(kernel, constants);
    const bind = (label: string, resources: BindingResources<K>) =>
      createBindGroup(this.device, pipeline, kernel, label, resources);
    return {
      kernel,
      pipeline,
      bind,
      dispatch: (label, resources, size) => ({ label, pipeline, bindGroup: bind(label, resources), size }),
    };
  }
}

export function encodeDispatches(pass: GPUComputePassEncoder, steps: readonly Dispatch[], t: number): void {
  for (const s of steps) {
    const [x, y, z] = s.size(t);
    if (x === 0 || y === 0 || z === 0) continue;
    pass.setPipeline(s.pipeline);
    pass.setBindGroup(0, s.bindGroup);
    pass.dispatchWorkgroups(x, y, z);
  }
}
