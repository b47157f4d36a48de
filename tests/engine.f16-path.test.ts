/**
 * The native-f16 path's decisions without a GPU: which features a device requests, which Dawn flags Node
 * passes, when the engine reads f16 weights through the `enable f16;` twins, and that every kernel reading big
 * weight matrices has a twin with the same bindings (so the plan can swap one for the other on the same
 * buffers). The twins' arithmetic is checked on an adapter in tests/kernels.f16-emulated.test.ts and, with
 * real f16, by bench/check-f16.ts on the GPU machine.
 */
import { describe, expect, it } from 'vitest';
import { HALF_KERNELS, halfTwin, nativeF16 } from '../src/engine/decisions.ts';
import { featuresToRequest, GpuUnavailableError, OPTIONAL_FEATURES } from '../src/engine/gpu/device.ts';
import { DAWN_TOGGLES, dawnFlags, dawnTogglesFromEnv, extraTogglesFromEnv } from '../src/engine/gpu/node.ts';
import { resolveOptions } from '../src/engine/options.ts';
import { MAMBA_130M } from '../src/engine/bench.ts';
import { shaderInterfaces, shaderSources } from '../src/engine/shaders.gen.ts';

const MiB128 = 128 * 2 ** 20;
const gpu = { isSoftware: false, hasSubgroups: true, maxStorageBufferBindingSize: MiB128 };

describe('device features', () => {
  it('requests shader-f16 where the adapter offers it, and nothing it does not offer', () => {
    expect(OPTIONAL_FEATURES).toContain('shader-f16');
    const h200 = new Set(['subgroups', 'timestamp-query', 'shader-f16', 'texture-compression-bc']);
    expect(featuresToRequest(h200)).toEqual(['subgroups', 'timestamp-query', 'shader-f16']);
    expect(featuresToRequest(new Set(['subgroups', 'timestamp-query']))).toEqual([
      'subgroups',
      'timestamp-query',
    ]);
    expect(featuresToRequest(new Set())).toEqual([]);
  });
});

describe('Dawn flags in Node', () => {
  it('turns the f16 and unsafe-API toggles on unless told not to, and keeps real timestamps either way', () => {
    expect(DAWN_TOGGLES).toEqual(['allow_unsafe_apis', 'vulkan_enable_f16_on_nvidia']);
    expect(dawnFlags(true)).toEqual([
      'enable-dawn-features=allow_unsafe_apis,vulkan_enable_f16_on_nvidia',
      'disable-dawn-features=timestamp_quantization',
    ]);
    expect(dawnFlags(false)).toEqual(['disable-dawn-features=timestamp_quantization']);
  });

  it('SOUP_DAWN_EXTRA adds toggles to the adapter toggles, and refuses what is not a toggle name', () => {
    expect(extraTogglesFromEnv({})).toEqual([]);
    const extra = extraTogglesFromEnv({ SOUP_DAWN_EXTRA: ' disable_robustness, disable_workgroup_init ,' });
    expect(extra).toEqual(['disable_robustness', 'disable_workgroup_init']);
    expect(dawnFlags(true, extra)[0]).toBe(
      'enable-dawn-features=allow_unsafe_apis,vulkan_enable_f16_on_nvidia,disable_robustness,disable_workgroup_init',
    );
    expect(dawnFlags(false, extra)).toEqual(['disable-dawn-features=timestamp_quantization']);
    expect(() => extraTogglesFromEnv({ SOUP_DAWN_EXTRA: 'a=b' })).toThrow(/not a Dawn toggle name/);
  });

  it('SOUP_DAWN_TOGGLES=0 / off / false / no turns them off; anything else leaves them on', () => {
    expect(dawnTogglesFromEnv({})).toBe(true);
    for (const off of ['0', 'off', 'OFF', 'false', 'no', ' 0 ']) {
      expect(dawnTogglesFromEnv({ SOUP_DAWN_TOGGLES: off }), off).toBe(false);
    }
    for (const on of ['1', 'on', '']) expect(dawnTogglesFromEnv({ SOUP_DAWN_TOGGLES: on }), on).toBe(true);
  });
});

describe('native f16 or packed', () => {
  it('native only for f16 weights on a device with shader-f16, unless packed is asked for', () => {
    expect(nativeF16('f16', true)).toBe(true);
    expect(nativeF16('f16', true, 'auto')).toBe(true);
    expect(nativeF16('f16', false)).toBe(false);
    expect(nativeF16('f32', true)).toBe(false);
    expect(nativeF16('f16', true, 'packed')).toBe(false);
    expect(nativeF16('f16', true, 'native')).toBe(true);
    expect(nativeF16('f32', false, 'native')).toBe(false);
  });

  it('insisting on native without shader-f16 is refused with what to do', () => {
    expect(() => nativeF16('f16', false, 'native')).toThrow(GpuUnavailableError);
    expect(() => nativeF16('f16', false, 'native')).toThrow(
      /shader-f16.*vulkan_enable_f16_on_nvidia.*'auto' or 'packed'/,
    );
    expect(() => nativeF16('f16', true, 'fast' as never)).toThrow(
      'f16 kernels must be auto, native or packed',
    );
  });

  it('resolveOptions settles it from the device traits (a device without the trait has no shader-f16)', () => {
    const c = MAMBA_130M;
    expect(resolveOptions({ dtype: 'f16' }, { ...gpu, hasShaderF16: true }, c).nativeF16).toBe(true);
    expect(resolveOptions({ dtype: 'f16' }, gpu, c).nativeF16).toBe(false);
    expect(resolveOptions({ dtype: 'f32' }, { ...gpu, hasShaderF16: true }, c).nativeF16).toBe(false);
    const packed = { dtype: 'f16' as const, f16Kernels: 'packed' as const };
    expect(resolveOptions(packed, { ...gpu, hasShaderF16: true }, c).nativeF16).toBe(false);
  });
});

describe('native-f16 twins', () => {
  it('every kernel that reads big weight matrices has a twin <kernel>_h with "enable f16;" and no unpacking', () => {
    for (const k of HALF_KERNELS) {
      const twin = halfTwin(k, true);
      expect(twin).toBe(`${k}_h`);
      expect(halfTwin(k, false)).toBe(k);
      const code = shaderSources[twin]!;
      expect(code, twin).toMatch(/^enable f16;$/m);
      expect(code, twin).not.toContain('unpack2x16float');
      expect(code, twin).not.toMatch(/override F16\b/);
      expect(shaderSources[k], k).not.toMatch(/^enable f16;$/m);
    }
  });

  it('each twin binds the same names, groups, slots and access as its packed kernel', () => {
    for (const k of HALF_KERNELS) {
      const strip = (b: Record<string, { group: number; binding: number; kind: string }>) =>
        Object.fromEntries(Object.entries(b).map(([n, v]) => [n, [v.group, v.binding, v.kind]]));
      expect(strip(shaderInterfaces[halfTwin(k, true)].bindings), k).toEqual(
        strip(shaderInterfaces[k].bindings),
      );
    }
  });
});
