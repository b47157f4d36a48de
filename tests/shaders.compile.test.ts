/**
 * Every generated kernel (src/engine/shaders.gen.ts) against this adapter's WGSL compiler: a kernel whose
 * `enable`s the device has must compile without an error; one that needs a feature the device lacks (shader-f16,
 * subgroups, subgroup matrices: SwiftShader has neither f16 nor subgroup matrices) must at least parse. Tint
 * reports syntax errors before it checks a module's `enable`s, so a kernel whose only error says that one of its
 * missing extensions is not allowed has parsed whole (a broken real build, e.g. an unbalanced bracket, fails
 * here instead of on the GPU machine). The arithmetic of those kernels is checked where they run: on the GPU
 * machine, and here through their EMULATE builds (kernels.sgmm-emulated, kernels.m2-ssd-sgmm,
 * kernels.f16-emulated).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { EngineDevice } from '../src/engine/gpu/device.ts';
import { openNodeDevice } from '../src/engine/gpu/node.ts';
import { shaderSources } from '../src/engine/shaders.gen.ts';

// The WGSL extension each device feature enables.
const FEATURE_OF: Record<string, string> = {
  f16: 'shader-f16',
  subgroups: 'subgroups',
  chromium_experimental_subgroup_matrix: 'chromium-experimental-subgroup-matrix',
};

let dev: EngineDevice;
beforeAll(async () => {
  dev = await openNodeDevice();
});

const sources = shaderSources as Record<string, string>;

describe('every kernel compiles, or parses where the adapter lacks one of its extensions', () => {
  for (const [name, code] of Object.entries(sources)) {
    it(name, async () => {
      const wanted = [...code.matchAll(/^enable (\w+);/gm)].map((m) => m[1]!);
      const missing = wanted.filter((e) => !dev.device.features.has(FEATURE_OF[e] ?? e));
      dev.device.pushErrorScope('validation');
      const module = dev.device.createShaderModule({ label: name, code });
      const errors = (await module.getCompilationInfo()).messages.filter((m) => m.type === 'error');
      await dev.device.popErrorScope();
      const text = errors.map((m) => `${m.lineNum}:${m.linePos} ${m.message}`);
      if (missing.length === 0) {
        expect(text).toEqual([]);
      } else {
        expect(text.length, text.join('\n')).toBeGreaterThan(0);
        for (const m of errors) {
          const ext = /^extension '(\w+)' is not allowed/.exec(m.message)?.[1];
          expect(ext !== undefined && missing.includes(ext), `${m.lineNum}:${m.linePos} ${m.message}`).toBe(
            true,
          );
        }
      }
    });
  }
});
