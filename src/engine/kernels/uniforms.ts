/**
 * Uniform buffers written by field name through the struct layout the shader build step computed from the
 * WGSL (shaderInterfaces in ../shaders.gen.ts), instead of word arrays that must match a struct by position.
 * Every field must be given except padding (a name starting with `pad` or `_`, written as 0); unknown
 * fields, a value that does not fit the field's type and a vector of the wrong length are errors.
 */
import { shaderInterfaces, type ShaderName } from '../shaders.gen.ts';
import { bindingTable, type UniformBindingName } from './bindings.ts';
import type { StructLayout } from './reflection.ts';

type Interfaces = typeof shaderInterfaces;

type StructOf<K extends ShaderName, B extends UniformBindingName<K>> = Interfaces[K]['bindings'][B] extends {
  type: infer T extends string;
}
  ? T extends keyof Interfaces[K]['structs']
    ? Interfaces[K]['structs'][T]
    : never
  : never;

type FieldName<K extends ShaderName, B extends UniformBindingName<K>> =
  StructOf<K, B> extends {
    fields: infer F;
  }
    ? keyof F & string
    : never;

type Padding = `pad${string}` | `_${string}`;

export type UniformValue = number | readonly number[];

/** The values of uniform binding `B` of kernel `K`: every field by name, padding optional. */
export type UniformValues<K extends ShaderName, B extends UniformBindingName<K>> = {
  readonly [F in Exclude<FieldName<K, B>, Padding>]: UniformValue;
} & { readonly [F in Extract<FieldName<K, B>, Padding>]?: UniformValue };

export class UniformError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UniformError';
  }
}

/** The layout of the struct behind uniform binding `binding` of `kernel`. */
export function uniformLayout(kernel: string, binding: string): StructLayout {
  const info = bindingTable(kernel)[binding];
  if (!info || info.kind !== 'uniform')
    throw new UniformError(`"${binding}" is not a uniform binding of "${kernel}".`);
  const layout = (shaderInterfaces[kernel as ShaderName].structs as Readonly<Record<string, StructLayout>>)[
    info.type
  ];
  if (!layout)
    throw new UniformError(`The uniform "${binding}" of "${kernel}" is not a struct (${info.type}).`);
  return layout;
}

const isPadding = (name: string) => name.startsWith('pad') || name.startsWith('_');

/** The bytes of `values` laid out as `layout` (little-endian, as WebGPU reads host-shareable data). */
export function packUniform(
  layout: StructLayout,
  values: Readonly<Record<string, UniformValue | undefined>>,
  where = 'uniform',
): ArrayBuffer {
  const raw = new ArrayBuffer(layout.size);
  const view = new DataView(raw);
  const unknown = Object.keys(values).filter((k) => !Object.hasOwn(layout.fields, k));
  if (unknown.length > 0)
    throw new UniformError(
      `${where}: no field ${unknown.join(', ')}; the struct has ${Object.keys(layout.fields).join(', ')}.`,
    );
  for (const [name, field] of Object.entries(layout.fields)) {
    const value = values[name];
    if (value === undefined) {
      if (isPadding(name)) continue;
      throw new UniformError(`${where}: field "${name}" (${field.type}) is not given.`);
    }
    const m = /^(?:vec([234])<)?(u32|i32|f32)>?$/.exec(field.type);
    if (!m)
      throw new UniformError(`${where}: field "${name}" has type ${field.type}, which is not written here.`);
    const n = m[1] ? Number(m[1]) : 1;
    const scalar = m[2] as 'u32' | 'i32' | 'f32';
    const items = typeof value === 'number' ? [value] : value;
    if (items.length !== n || (n === 1 && typeof value !== 'number'))
      throw new UniformError(`${where}: field "${name}" is ${field.type}, given ${JSON.stringify(value)}.`);
    items.forEach((x, i) => {
      const at = field.offset + 4 * i;
      if (scalar === 'f32') view.setFloat32(at, x, true);
      else {
        const [lo, hi] = scalar === 'u32' ? [0, 2 ** 32 - 1] : [-(2 ** 31), 2 ** 31 - 1];
        if (!Number.isInteger(x) || x < lo || x > hi)
          throw new UniformError(`${where}: field "${name}" is ${scalar}, given ${x}.`);
        if (scalar === 'u32') view.setUint32(at, x, true);
        else view.setInt32(at, x, true);
      }
    });
  }
  return raw;
}

/** The bytes of uniform binding `binding` of `kernel` for `values`, by the generated layout. */
export function uniformBytes<K extends ShaderName, B extends UniformBindingName<K>>(
  kernel: K,
  binding: B,
  values: UniformValues<K, B>,
): ArrayBuffer {
  return packUniform(uniformLayout(kernel, binding), values, `${kernel}.${binding}`);
}

/** Writes `values` into `buffer` (a uniform of `binding` of `kernel`) through the generated layout. */
export function writeUniform<K extends ShaderName, B extends UniformBindingName<K>>(
  queue: GPUQueue,
  buffer: GPUBuffer,
  kernel: K,
  binding: B,
  values: UniformValues<K, B>,
): void {
  queue.writeBuffer(buffer, 0, uniformBytes(kernel, binding, values));
}
