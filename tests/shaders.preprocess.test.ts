/**
 * The WGSL preprocessor of the shader build step (scripts/shaders/preprocess.ts), without a GPU: includes,
 * conditionals, variants and their errors, then the real shaders/ tree: every kernel name the engine asks
 * for is built, each variant carries only its own branch, and no directive reaches the WGSL.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildKernels } from '../scripts/shaders/build.ts';
import { parseVariants, preprocess, ShaderPreprocessError } from '../scripts/shaders/preprocess.ts';

const includes: Record<string, string> = {
  'a.wgsl': 'struct A { x: u32 }\n',
  'b.wgsl': '#include "a.wgsl"\nstruct B { a: A }\n',
  'loop1.wgsl': '#include "loop2.wgsl"\n',
  'loop2.wgsl': '#include "loop1.wgsl"\n',
  'bad.wgsl': '#variant nope\n',
};
const read = (name: string) => {
  const text = includes[name];
  if (text === undefined) throw new Error('no such file');
  return text;
};
const run = (src: string, defines: Record<string, string> = {}) => preprocess(src, 'k.wgsl', defines, read);

describe('preprocess', () => {
  it('passes WGSL through and drops directive lines', () => {
    expect(run('a\n  b // #not a directive\nc')).toBe('a\n  b // #not a directive\nc');
  });

  it('inlines an include once per kernel, nested includes first', () => {
    expect(run('#include "b.wgsl"\n#include "a.wgsl"\nfn f() {}')).toBe(
      'struct A { x: u32 }\nstruct B { a: A }\nfn f() {}',
    );
  });

  it('keeps the #ifdef arm or the #else arm by the defines', () => {
    const src = '#ifdef SG\nsg\n#else\nplain\n#endif\nafter';
    expect(run(src, { SG: '1' })).toBe('sg\nafter');
    expect(run(src)).toBe('plain\nafter');
    expect(run('#ifndef SG\nplain\n#endif', { SG: '1' })).toBe('');
  });

  it('reads #if NAME as defined and not 0', () => {
    const src = '#if W\nyes\n#else\nno\n#endif';
    expect(run(src, { W: '1' })).toBe('yes');
    expect(run(src, { W: '0' })).toBe('no');
    expect(run(src)).toBe('no');
  });

  it('nests conditionals: an inner #else stays dropped inside a dropped outer arm', () => {
    const src = '#ifdef A\n#ifdef B\nab\n#else\na\n#endif\n#else\nnone\n#endif';
    expect(run(src, { A: '1', B: '1' })).toBe('ab');
    expect(run(src, { A: '1' })).toBe('a');
    expect(run(src, { B: '1' })).toBe('none');
    expect(run(src)).toBe('none');
  });

  it('skips an include inside a dropped arm', () => {
    expect(run('#ifdef X\n#include "missing.wgsl"\n#endif\nok')).toBe('ok');
  });

  it.each([
    ['#ifdef A\nx', 'k.wgsl:1: #if without #endif'],
    ['x\n#endif', 'k.wgsl:2: #endif without #if'],
    ['#else', 'k.wgsl:1: #else without #if'],
    ['#ifdef A\n#else\n#else\n#endif', 'k.wgsl:3: second #else for the #if on line 1'],
    ['#ifdef A B\n#endif', 'k.wgsl:1: #ifdef needs one define name, not "A B"'],
    ['#define A', 'k.wgsl:1: unknown directive #define'],
    ['#include <a.wgsl>', 'k.wgsl:1: #include needs a quoted file name'],
    ['#include "missing.wgsl"', 'k.wgsl:1: cannot read include "missing.wgsl": no such file'],
    ['#include "loop1.wgsl"', 'loop2.wgsl:1: #include cycle: loop1.wgsl → loop2.wgsl → loop1.wgsl'],
    ['#include "bad.wgsl"', 'bad.wgsl:1: #variant belongs in a kernel source'],
  ])('rejects %j with its file and line', (src, message) => {
    expect(() => run(src)).toThrow(ShaderPreprocessError);
    expect(() => run(src)).toThrow(message);
  });
});

describe('parseVariants', () => {
  it('reads one kernel per #variant line with its defines', () => {
    const src = '#variant k\n#variant k_sg SUBGROUP ROWS=4\nfn main() {}';
    expect(parseVariants(src, 'k.wgsl', 'k')).toEqual([
      { name: 'k', defines: {} },
      { name: 'k_sg', defines: { SUBGROUP: '1', ROWS: '4' } },
    ]);
  });
  it('makes a file without #variant one kernel named after it', () => {
    expect(parseVariants('fn main() {}', 'rmsnorm.wgsl', 'rmsnorm')).toEqual([
      { name: 'rmsnorm', defines: {} },
    ]);
  });
  it('rejects a nameless, a repeated and a malformed variant', () => {
    expect(() => parseVariants('#variant', 'k.wgsl', 'k')).toThrow('k.wgsl:1: #variant needs a kernel name');
    expect(() => parseVariants('#variant a\n#variant a', 'k.wgsl', 'k')).toThrow(
      'k.wgsl:2: variant "a" is declared twice',
    );
    expect(() => parseVariants('#variant a 9X', 'k.wgsl', 'k')).toThrow('"9X" is not a define');
  });
});

describe('the shaders/ build', () => {
  const kernels = buildKernels(join(import.meta.dirname, '..', 'shaders'));
  const byName = new Map(kernels.map((k) => [k.name, k]));

  it('makes every kernel the engine, the mixer and the random weights ask for (new families may add more)', () => {
    // The names passed to PipelineCache in src/engine (model.ts, states/gpuMix.ts, randomWeights.ts).
    const used = [
      'conv1d',
      'dt_proj',
      'embed',
      'fill_random',
      'gemm_reg',
      'gemm_splitk_reduce',
      'gemm_tiled',
      'gemv',
      'gemv_coop',
      'gemv_fused',
      'gemv_fused_sg',
      'gemv_subgroup',
      'mix_adecay',
      'mix_linear',
      'mix_mean',
      'nll',
      'rmsnorm',
      'sample',
      'scan',
      'scan_coop',
    ];
    expect([...byName.keys()]).toEqual(expect.arrayContaining(used));
  });

  it('builds the subgroup variants from the same source as their workgroup-memory twins', () => {
    for (const [plain, sg] of [
      ['gemv_fused', 'gemv_fused_sg'],
      ['gemv_coop', 'gemv_subgroup'],
    ] as const) {
      const p = byName.get(plain)!;
      const s = byName.get(sg)!;
      expect(s.file).toBe(p.file);
      expect(s.code).toMatch(/^enable subgroups;/);
      expect(s.code).toContain('subgroupAdd(');
      for (const word of ['enable subgroups', 'subgroupAdd(', 'subgroup_invocation_id'])
        expect(p.code).not.toContain(word);
      expect(p.code).toContain('workgroupBarrier();\n  for (var s = 32u; s > 0u; s >>= 1u)');
      expect(s.iface).toEqual(p.iface);
    }
  });

  it('leaves no directive in any kernel and declares each shared struct once', () => {
    for (const k of kernels) {
      expect(k.code, k.name).not.toMatch(/^\s*#/m);
      for (const s of ['Dims', 'Shape'])
        expect(k.code.split(`struct ${s} `).length, k.name).toBeLessThanOrEqual(2);
    }
    expect(byName.get('gemm_tiled')!.code).toContain('fn splitCount(T: u32) -> u32');
    expect(byName.get('gemm_splitk_reduce')!.code).toContain('fn splitCount(T: u32) -> u32');
  });
});
