/**
 * What the dispatch builders share: the device and pipeline cache, the resolved options, the weights on the
 * GPU and the activation buffers. Bind groups are made by binding name (`ctx.pipes.kernel(name, consts).bind`)
 * and uniforms written by field name (`uniformFields`), both checked against the tables the shader build step
 * reads from the WGSL.
 */
import type { MambaConfig } from '../../model/config.ts';
import type { AnyMambaConfig } from '../../model/family.ts';
import type { Activations, SharedActivations } from '../activations.ts';
import type { WeightMatrix } from '../gpu/weightMatrix.ts';
import type { UniformBindingName } from '../kernels/bindings.ts';
import { halfTwin, type HalfKernel } from '../decisions.ts';
import type { Constants, KernelPipeline, PipelineCache } from '../kernels/pipelines.ts';
import { uniformBytes, type UniformValues } from '../kernels/uniforms.ts';
import type { ResolvedOptions } from '../options.ts';
import type { GpuWeights } from '../placement.ts';
import type { ShaderName } from '../shaders.gen.ts';

/**
 * What the builders both families use (embedding, RMSNorm, GEMM/GEMV, the LM head, NLL, sampling) need: the
 * matrices by engine key and the activations every family has.
 */
export interface SharedPlanContext {
  device: GPUDevice;
  pipes: PipelineCache;
  config: AnyMambaConfig;
  opts: ResolvedOptions;
  weights: { readonly matrices: Map<string, WeightMatrix> };
  act: SharedActivations;
  /** Partial sums of split-K prefill GEMMs (gemm_tiled.wgsl's P), shared by all GEMMs; hardware variant. */
  splitK?: GPUBuffer;
  /**
   * Rows where the hardware variant's prefill GEMM of a matrix (by engine key) starts a new dispatch
   * (gemm.ts prefillParts); matrices not listed run one dispatch per row part. Mamba-2 lists its in_projs.
   */
  prefillSplits?: ReadonlyMap<string, readonly number[]>;
  /** Allocates a buffer the engine owns (padded to 16 bytes, destroyed with the engine). */
  buffer: (label: string, bytes: number, usage: number) => GPUBuffer;
}

/** The Mamba-1 builders' context. */
export interface PlanContext extends SharedPlanContext {
  config: MambaConfig;
  weights: GpuWeights;
  act: Activations;
  /** Bound to the fused GEMV's conv outputs where a step does not use them (writable bindings may not alias). */
  unusedRw: [GPUBuffer, GPUBuffer];
}

export const ceil = (a: number, b: number) => Math.ceil(a / b);

/** A small uniform buffer holding `values`, laid out as uniform `binding` of `kernel` (generated layout). */
export function uniformFields<K extends ShaderName, B extends UniformBindingName<K>>(
  ctx: Pick<SharedPlanContext, 'device' | 'buffer'>,
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

/**
 * The pipeline of a kernel that reads the big weight matrix `m`: for int8 matrices the kernel with I8 and the
 * group size GS (shaders/include/int8.wgsl); for f16 its native-f16 twin (`<kernel>_h`, which has no F16
 * constant: its weights are always f16) when the options chose native f16; else the kernel with F16 by the
 * matrix's dtype (an int8 engine keeps the matrices it leaves out in packed f16).
 */
export function weightKernel<K extends HalfKernel>(
  ctx: Pick<SharedPlanContext, 'pipes' | 'opts'>,
  kernel: K,
  m: Pick<WeightMatrix, 'dtype' | 'group'>,
  consts: Constants = {},
): KernelPipeline<K | `${K}_h`> {
  if (m.dtype === 'int8') {
    return ctx.pipes.kernel<K | `${K}_h`>(kernel, { F16: false, I8: true, GS: m.group, ...consts });
  }
  const name = halfTwin(kernel, ctx.opts.nativeF16 && m.dtype === 'f16');
  if (name !== kernel) return ctx.pipes.kernel(name, consts);
  return ctx.pipes.kernel<K | `${K}_h`>(kernel, { F16: m.dtype === 'f16', ...consts });
}
