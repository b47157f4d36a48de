/**
 * Binding tables and struct layouts read from WGSL by the shader build step (scripts/shaders/reflect.ts),
 * against layouts worked out by hand from the WGSL rules (scalars 4 bytes aligned 4; vec2 8 aligned 8;
 * vec3 12 aligned 16; vec4 16 aligned 16; arrays of stride roundUp(align, size); a struct aligned to its
 * widest member, its size rounded up to that), and the host side that binds by name and packs uniforms
 * by field name (src/engine/kernels/bindings.ts, uniforms.ts). No GPU: tests/kernels.bind-by-name.test.ts
 * runs a kernel bound this way on a real adapter.
 */
import { describe, expect, it } from 'vitest';
import { bindings, reflect, structLayouts } from '../scripts/shaders/reflect.ts';
import { bindGroupEntries, BindingError } from '../src/engine/kernels/bindings.ts';
import { packUniform, uniformBytes, uniformLayout, UniformError } from '../src/engine/kernels/uniforms.ts';

const offsets = (wgsl: string, name: string) => {
  const s = structLayouts(wgsl)[name]!;
  return {
    size: s.size,
    align: s.align,
    at: Object.fromEntries(Object.entries(s.fields).map(([k, f]) => [k, f.offset])),
  };
};

describe('struct layouts by the WGSL rules', () => {
  it('packs scalars at 4-byte steps', () => {
    expect(offsets('struct P { a: u32, b: f32, c: i32 }', 'P')).toEqual({
      size: 12,
      align: 4,
      at: { a: 0, b: 4, c: 8 },
    });
  });

  it('aligns vec2 to 8 and pads the struct to its alignment', () => {
    // a 0..4, b at 8 (not 4) .. 16, c 16..20, size roundUp(8, 20) = 24.
    expect(offsets('struct P { a: f32, b: vec2f, c: u32 }', 'P')).toEqual({
      size: 24,
      align: 8,
      at: { a: 0, b: 8, c: 16 },
    });
  });

  it('aligns vec3 and vec4 to 16 and fits a scalar in the 4 bytes after a vec3', () => {
    // a 0..4, v3 16..28, s 28..32, v4 32..48; align 16, size 48.
    const wgsl = 'struct P {\n  a: u32, // count\n  v3: vec3<f32>,\n  s: f32,\n  v4: vec4u,\n}';
    expect(offsets(wgsl, 'P')).toEqual({ size: 48, align: 16, at: { a: 0, v3: 16, s: 28, v4: 32 } });
    expect(structLayouts(wgsl).P!.fields.v4).toEqual({ offset: 32, type: 'vec4<u32>', size: 16 });
  });

  it('lays out fixed arrays by element stride and nested structs by their own layout', () => {
    // Inner: x 0..4, v 8..16 → size 16, align 8. Outer: n 0..4, inner at 8..24, arr of vec3 (stride 16) 32..64,
    // tail at 64; size roundUp(16, 68) = 80.
    const wgsl = `
      struct Inner { x: f32, v: vec2<f32> }
      struct Outer { n: u32, inner: Inner, arr: array<vec3f, 2>, tail: f32 }`;
    expect(offsets(wgsl, 'Inner')).toEqual({ size: 16, align: 8, at: { x: 0, v: 8 } });
    expect(offsets(wgsl, 'Outer')).toEqual({
      size: 80,
      align: 16,
      at: { n: 0, inner: 8, arr: 32, tail: 64 },
    });
  });

  it('ignores comments, including nested block comments', () => {
    const wgsl =
      '/* struct Fake { a: vec4f } /* nested */ still comment */\nstruct P { a: u32, /* b: vec4f, */ c: u32 }';
    expect(Object.keys(structLayouts(wgsl))).toEqual(['P']);
    expect(offsets(wgsl, 'P').at).toEqual({ a: 0, c: 4 });
  });

  it('refuses what it cannot lay out rather than guess', () => {
    expect(() => structLayouts('struct P { m: mat4x4f }')).toThrow(
      'struct P, member m: cannot lay out type "mat4x4f"',
    );
    expect(() => structLayouts('struct P { @align(16) a: u32 }')).toThrow(
      'member attributes are not supported',
    );
  });
});

describe('binding tables', () => {
  it('reads group, binding and kind, storage defaulting to read', () => {
    const wgsl = `
      @group(0) @binding(2) var<uniform> u: Params;
      @group(0) @binding(0) var<storage> plain: array<f32>;
      @group(1) @binding(0) var<storage, read> r: array<vec4f>;
      @group(0) @binding(1) var<storage, read_write> rw: array<u32>; // out
      var<workgroup> scratch: array<f32, 64>;`;
    expect(bindings(wgsl)).toEqual({
      u: { group: 0, binding: 2, kind: 'uniform', type: 'Params' },
      plain: { group: 0, binding: 0, kind: 'read', type: 'array<f32>' },
      r: { group: 1, binding: 0, kind: 'read', type: 'array<vec4f>' },
      rw: { group: 0, binding: 1, kind: 'read_write', type: 'array<u32>' },
    });
  });

  it('rejects two bindings in one slot and non-buffer bindings', () => {
    expect(() =>
      reflect('@group(0) @binding(1) var<uniform> a: A;\n@group(0) @binding(1) var<uniform> b: A;'),
    ).toThrow('bindings a and b both use @group(0) @binding(1)');
    expect(() => bindings('@group(0) @binding(0) var tex: texture_2d<f32>;')).toThrow(
      'only uniform and storage',
    );
  });
});

describe('generated interfaces of the real kernels', () => {
  it('gives every GEMV/GEMM Shape uniform the same 32-byte layout', () => {
    for (const kernel of [
      'gemv_fused',
      'gemv_fused_sg',
      'gemv_coop',
      'gemv',
      'gemm_reg',
      'gemm_tiled',
    ] as const) {
      const s = uniformLayout(kernel, 'shape');
      expect(s.size, kernel).toBe(32);
      expect(Object.entries(s.fields).map(([k, f]) => [k, f.offset])).toEqual([
        ['N', 0],
        ['K', 4],
        ['LDY', 8],
        ['COL0', 12],
        ['BIAS_OFF', 16],
        ['HAS_BIAS', 20],
        ['SPLIT_TARGET', 24],
        ['MAX_SPLIT', 28],
      ]);
    }
  });

  it('keeps the binding slots the engine binds positionally today', () => {
    // model.ts binds gemv_coop / gemm_reg as [dims, x, W, bias, y, shape] and gemv_fused as [shape, x, W, params, y, state, xc].
    const slot = (kernel: string, name: string) =>
      bindGroupEntries(kernel, fakeAll(kernel)).find(
        (e) => (e.resource as GPUBufferBinding).buffer === fake(name),
      )?.binding;
    expect(['X', 'W', 'bias', 'Y', 'shape'].map((n) => slot('gemv_coop', n))).toEqual([1, 2, 3, 4, 5]);
    expect(['dims', 'X', 'W', 'bias', 'Y', 'shape'].map((n) => slot('gemm_reg', n))).toEqual([
      0, 1, 2, 3, 4, 5,
    ]);
    expect(['shape', 'X', 'W', 'params', 'Y', 'state', 'xc'].map((n) => slot('gemv_fused_sg', n))).toEqual([
      0, 1, 2, 3, 4, 5, 6,
    ]);
    expect(['acc', 'src', 'ops', 'params'].map((n) => slot('mix_linear', n))).toEqual([0, 1, 2, 3]);
  });

  it('lays out the mixer and random-fill parameters as their writers did by hand', () => {
    expect(uniformLayout('mix_mean', 'params').fields).toMatchObject({
      total: { offset: 0 },
      rowStride: { offset: 4 },
      scale: { offset: 8, type: 'f32' },
    });
    expect(uniformLayout('fill_random', 'P').size).toBe(32);
    expect(uniformLayout('fill_random', 'P').fields.bound).toEqual({ offset: 16, type: 'f32', size: 4 });
    expect(uniformLayout('sample', 'params').fields.topP).toEqual({ offset: 8, type: 'f32', size: 4 });
  });
});

// Stand-ins for GPUBuffers: bindGroupEntries only places them, it never touches a device.
const buffers = new Map<string, GPUBuffer>();
function fake(name: string): GPUBuffer {
  if (!buffers.has(name)) buffers.set(name, { label: name } as GPUBuffer);
  return buffers.get(name)!;
}
function fakeAll(kernel: string): Record<string, GPUBuffer> {
  const names: Record<string, string[]> = {
    gemv_coop: ['X', 'W', 'bias', 'Y', 'shape'],
    gemm_reg: ['dims', 'X', 'W', 'bias', 'Y', 'shape'],
    gemv_fused_sg: ['shape', 'X', 'W', 'params', 'Y', 'state', 'xc'],
    mix_linear: ['acc', 'src', 'ops', 'params'],
  };
  return Object.fromEntries(names[kernel]!.map((n) => [n, fake(n)]));
}

describe('binding by name', () => {
  it('fails loudly on a missing or an unknown name, listing what the kernel binds', () => {
    const { params: _params, ...missing } = fakeAll('mix_linear');
    expect(() => bindGroupEntries('mix_linear', missing)).toThrow(BindingError);
    expect(() => bindGroupEntries('mix_linear', missing)).toThrow(
      'Bind group of "mix_linear" (group 0): missing params. It binds acc, src, ops, params.',
    );
    expect(() => bindGroupEntries('mix_linear', { ...fakeAll('mix_linear'), weights: fake('w') })).toThrow(
      'not bindings of this kernel: weights',
    );
    expect(() => bindGroupEntries('no_such_kernel', {})).toThrow('No shader named "no_such_kernel"');
  });

  it('passes a range of a buffer through as given, and a whole buffer as its binding from offset 0', () => {
    const range = { buffer: fake('W'), offset: 512, size: 1024 };
    const entries = bindGroupEntries('gemm_reg', { ...fakeAll('gemm_reg'), W: range });
    expect(entries.find((e) => e.binding === 2)?.resource).toEqual(range);
    expect(entries.find((e) => e.binding === 1)?.resource).toEqual({ buffer: fake('X') });
  });
});

describe('uniforms by field name', () => {
  it('writes each field at its offset in its type, little-endian', () => {
    const raw = uniformBytes('mix_mean', 'params', { total: 7, rowStride: 256, scale: 1 / 3 });
    expect(raw.byteLength).toBe(16);
    const v = new DataView(raw);
    expect([
      v.getUint32(0, true),
      v.getUint32(4, true),
      v.getFloat32(8, true),
      v.getUint32(12, true),
    ]).toEqual([7, 256, Math.fround(1 / 3), 0]);
  });

  it('writes vectors component by component', () => {
    const layout = structLayouts('struct P { a: u32, v: vec2<f32>, w: vec4<i32> }').P!;
    const v = new DataView(packUniform(layout, { a: 1, v: [0.5, -2], w: [-1, 2, -3, 4] }));
    expect([v.getFloat32(8, true), v.getFloat32(12, true)]).toEqual([0.5, -2]);
    expect([0, 1, 2, 3].map((i) => v.getInt32(16 + 4 * i, true))).toEqual([-1, 2, -3, 4]);
  });

  it('rejects a missing field, an unknown field and values that do not fit', () => {
    const layout = uniformLayout('mix_linear', 'params');
    expect(() => packUniform(layout, { perLayer: 1, total: 2 })).toThrow(UniformError);
    expect(() => packUniform(layout, { perLayer: 1, total: 2 })).toThrow(
      'field "rowStride" (u32) is not given',
    );
    expect(() => packUniform(layout, { perLayer: 1, total: 2, rowStride: 3, stride: 4 })).toThrow(
      'no field stride',
    );
    expect(() => packUniform(layout, { perLayer: -1, total: 2, rowStride: 3 })).toThrow(
      '"perLayer" is u32, given -1',
    );
    expect(() => packUniform(layout, { perLayer: 1.5, total: 2, rowStride: 3 })).toThrow('given 1.5');
    expect(() => packUniform(layout, { perLayer: [1, 2], total: 2, rowStride: 3 })).toThrow(
      'is u32, given [1,2]',
    );
    expect(() => uniformLayout('mix_linear', 'acc')).toThrow(
      '"acc" is not a uniform binding of "mix_linear"',
    );
  });
});
