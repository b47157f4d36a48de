/**
 * What the dispatch builders share: the device and pipeline cache, the resolved options, the weights on the
 * GPU and the activation buffers. Bind groups are positional (binding i = array index i, `undefined` skips a
 * binding), matching each shader's @binding numbers.
 */
import type { MambaConfig } from '../../model/config.ts';
import type { Activations } from '../activations.ts';
import type { PipelineCache } from '../kernels/pipelines.ts';
import type { ResolvedOptions } from '../options.ts';
import type { GpuWeights } from '../placement.ts';
import { writeArray } from '../placement.ts';

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

/** A small uniform buffer holding `words`. */
export function uniformWords(ctx: PlanContext, label: string, bytes: number, words: number[]): GPUBuffer {
  const b = ctx.buffer(label, bytes, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST);
  writeArray(ctx.device.queue, b, 0, new Uint32Array(words));
  return b;
}
