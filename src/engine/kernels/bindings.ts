/**
 * Bind groups by binding name, from the binding table the shader build step reads out of each kernel's WGSL
 * (shaderInterfaces in ../shaders.gen.ts). `{ X: x, W: weights, Y: out }` replaces positional arrays with
 * `undefined` gaps: a name the kernel does not declare, or a declared name left out, is an error that lists
 * what the kernel expects, raised on the host before WebGPU sees the bind group. A resource is a whole buffer
 * or a range of one (`{ buffer, offset, size }`: a prefill GEMM binds a block of a weight part's rows).
 */
import { shaderInterfaces, type ShaderName } from '../shaders.gen.ts';
import type { BindingInfo } from './reflection.ts';

type Interfaces = typeof shaderInterfaces;

/** The binding names `kernel` declares (all groups). */
export type BindingName<K extends ShaderName> = keyof Interfaces[K]['bindings'] & string;

/** What one binding takes: a whole buffer, or a range of one (offset and size in bytes). */
export type BufferResource = GPUBuffer | GPUBufferBinding;

/** One buffer (or range of one) for each binding of `kernel`, by name. */
export type BindingResources<K extends ShaderName> = { readonly [N in BindingName<K>]: BufferResource };

/** The names of the `var<uniform>` bindings of `kernel`. */
export type UniformBindingName<K extends ShaderName> = {
  [N in BindingName<K>]: Interfaces[K]['bindings'][N] extends { kind: 'uniform' } ? N : never;
}[BindingName<K>];

export class BindingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BindingError';
  }
}

/** The binding table of `kernel`, failing loudly for a name the build did not produce. */
export function bindingTable(kernel: string): Readonly<Record<string, BindingInfo>> {
  if (!Object.hasOwn(shaderInterfaces, kernel))
    throw new BindingError(`No shader named "${kernel}" (run node scripts/gen-shaders.mjs).`);
  return shaderInterfaces[kernel as ShaderName].bindings;
}

/**
 * The entries of bind group `group` of `kernel` for `resources` (every binding of that group, by name).
 * Throws a BindingError naming the missing and unknown names.
 */
export function bindGroupEntries(
  kernel: string,
  resources: Readonly<Record<string, BufferResource>>,
  group = 0,
): GPUBindGroupEntry[] {
  const table = bindingTable(kernel);
  const names = Object.keys(table).filter((n) => table[n]!.group === group);
  const missing = names.filter((n) => !Object.hasOwn(resources, n) || resources[n] === undefined);
  const extra = Object.keys(resources).filter((n) => !names.includes(n));
  if (missing.length > 0 || extra.length > 0) {
    const parts = [
      missing.length > 0 ? `missing ${missing.join(', ')}` : '',
      extra.length > 0 ? `not bindings of this kernel: ${extra.join(', ')}` : '',
    ].filter((p) => p !== '');
    throw new BindingError(
      `Bind group of "${kernel}" (group ${group}): ${parts.join('; ')}. It binds ${names.join(', ')}.`,
    );
  }
  return names.map((n) => ({ binding: table[n]!.binding, resource: bufferBinding(resources[n]!) }));
}

/** `r` as a GPUBufferBinding: a range as given, a whole buffer from offset 0 to its end. */
function bufferBinding(r: BufferResource): GPUBufferBinding {
  // A GPUBuffer has no `buffer` member; a GPUBufferBinding must have one.
  return 'buffer' in r ? r : { buffer: r };
}

/** A bind group of `pipeline` (made from `kernel`) with each buffer at the binding of its name. */
export function createBindGroup<K extends ShaderName>(
  device: GPUDevice,
  pipeline: GPUComputePipeline,
  kernel: K,
  label: string,
  resources: BindingResources<K>,
  group = 0,
): GPUBindGroup {
  const entries = bindGroupEntries(kernel, resources, group);
  return device.createBindGroup({ label, layout: pipeline.getBindGroupLayout(group), entries });
}
