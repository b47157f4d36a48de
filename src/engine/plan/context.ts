/**
 * What the dispatch builders share: the device and pipeline cache, the resolved options, the weights on the
 * GPU and the activation buffers. Bind groups are made by binding name (`ctx.pipes.kernel(name, consts).bind`)
 * and uniforms written by field name (`uniformFields`), both checked against the tables the shader build step
 * reads from the WGSL.
 */
import type { MambaConfig } from '../../model/config.ts';
import type { Activations } from '../activations.ts';
import type { WeightMatrix } from '../gpu/weightMatrix.ts';
import type { Constants } from '../kernels/pipelines.ts';
import type { UniformBindingName } from '../kernels/bindings.ts';
import type { PipelineCache } from '../kernels/pipelines.ts';
import { uniformBytes, type UniformValues } from '../kernels/uniforms.ts';
import type { ResolvedOptions } from '../options.ts';
import type { GpuWeights } from '../placement.ts';
import type { ShaderName } from '../shaders.gen.ts';

export interface PlanContext {
  device: GPUDevice;
  pipes: PipelineCache;
  config: MambaConfig;
  opts: ResolvedOptions;
  weights: GpuWeights;
  act: Activations;
  /** Bound to the fused GEMV's conv outputs where a step does not use them (writable bindings may not alias). */
  unusedRw: [GPUBuffer, GPUBuffer];
  /** Partial sums of split-K prefill GEMMs (gemm_tiled.wgsl's P), shared by all GEMMs; hardware variant. */
  splitK?: GPUBuffer;
  /** Allocates a buffer the engine owns (padded to 16 bytes, destroyed with the engine). */
  buffer: (label: string, bytes: number, usage: number) => GPUBuffer;
}

export const ceil = (a: number, b: number) => Math.ceil(a / b);

/**
 * The override constants that say how a matrix's weights are held: F16 for every kernel that reads weights,
 * and for int8 matrices I8 with the group size GS (shaders/include/int8.wgsl); f32/f16 pipelines stay as before.
 */
export function weightConsts(m: Pick<WeightMatrix, 'dtype' | 'group'>): Constants {
  return m.dtype === 'int8' ? { F16: false, I8: true, GS: m.group } : { F16: m.dtype === 'f16' };
}

/** A small uniform buffer holding `values`, laid out as uniform `binding` of `kernel` (generated layout). */
export function uniformFields<K extends ShaderName, B extends UniformBindingName<K>>(
  ctx: PlanContext,
  label: string,
  kernel: K,
  binding: B,
  values: UniformValues<K, B>,
): GPUBuffer {
  const bytes = uniformBytes(kernel, binding, values);
  const b = ctx.buffer(label, bytes.byteLength, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST);
  ctx.device.queue.writeBuffer(b, 0, bytes);
  return b;
}
