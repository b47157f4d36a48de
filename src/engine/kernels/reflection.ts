/**
 * The shape of what the shader build step (scripts/gen-shaders.mjs) reads out of each generated kernel's
 * WGSL: its bindings by name and the byte layout of its structs. The generated `shaderInterfaces` in
 * ../shaders.gen.ts holds one `ShaderInterface` per kernel; bindings.ts and uniforms.ts use it so host code
 * binds buffers by name and writes uniforms by field name instead of by position.
 */

/** How a buffer is bound: `var<uniform>`, `var<storage, read>` or `var<storage, read_write>`. */
export type BindingKind = 'uniform' | 'read' | 'read_write';

export interface BindingInfo {
  readonly group: number;
  readonly binding: number;
  readonly kind: BindingKind;
  /** The WGSL store type as written (a struct name for uniforms). */
  readonly type: string;
}

/** A host-shareable type a uniform field can have. */
export type FieldType =
  | 'u32'
  | 'i32'
  | 'f32'
  | 'vec2<u32>'
  | 'vec2<i32>'
  | 'vec2<f32>'
  | 'vec3<u32>'
  | 'vec3<i32>'
  | 'vec3<f32>'
  | 'vec4<u32>'
  | 'vec4<i32>'
  | 'vec4<f32>';

export interface FieldLayout {
  readonly offset: number;
  /** A scalar or vector type, or a struct name / array type (written as raw bytes only by the caller). */
  readonly type: string;
  readonly size: number;
}

export interface StructLayout {
  readonly size: number;
  readonly align: number;
  readonly fields: Readonly<Record<string, FieldLayout>>;
}

export interface ShaderInterface {
  readonly bindings: Readonly<Record<string, BindingInfo>>;
  readonly structs: Readonly<Record<string, StructLayout>>;
}
