/**
 * The native-f16 kernel twins (`<kernel>_h`, shaders/*.wgsl #variant … HALF) where no adapter has shader-f16
 * (SwiftShader here): each twin's WGSL with f16 read as f32 (halfAsF32) runs on f32 weights at the same element
 * indices and must match the float64 CPU answer within 1e-5, like the packed kernel it replaces, which runs
 * beside it on the same (f16-rounded) weights. That checks the twins' indexing, vector loads and f32 sums;
 * the f16 loads themselves are checked on the GPU machine by bench/check-f16.ts (native against packed
 * against float64).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  caseData,
  caseName,
  cpuAnswer,
  halfAsF32,
  KERNEL_CASES,
  packF16,
  relError,
  runCase,
  type Consts,
} from '../bench/f16-kernels.ts';
import { halfTwin } from '../src/engine/decisions.ts';
import type { EngineDevice } from '../src/engine/gpu/device.ts';
import { openNodeDevice } from '../src/engine/gpu/node.ts';
import { PipelineCache } from '../src/engine/kernels/pipelines.ts';
import { shaderSources } from '../src/engine/shaders.gen.ts';
import { withScope } from './helpers/gpu.ts';

let dev: EngineDevice;
beforeAll(async () => {
  dev = await openNodeDevice();
});

describe('native-f16 kernel twins, emulated in f32, against float64', () => {
  KERNEL_CASES.forEach((c, i) => {
    it(caseName(c), async (ctx) => {
      if (c.kernel.includes('subgroup') || c.kernel.endsWith('_sg')) {
        if (!dev.hasSubgroups) ctx.skip();
      }
      await withScope(dev.device, async () => {
        const d = caseData(c, 100 + i);
        const want = cpuAnswer(c, d);
        const pipes = PipelineCache.forDevice(dev.device);
        const packed = await runCase(dev.device, c, d, packF16(d.w), (consts) => ({
          kernel: c.kernel,
          pipeline: pipes.get(c.kernel, { F16: true, ...consts }),
        }));
        expect(relError(packed, want), `packed ${c.kernel}`).toBeLessThan(1e-5);

        const twin = halfTwin(c.kernel, true);
        const module = dev.device.createShaderModule({ code: halfAsF32(shaderSources[twin]!) });
        const emulated = await runCase(dev.device, c, d, d.w, (consts: Consts) => ({
          kernel: twin,
          pipeline: dev.device.createComputePipeline({
            layout: 'auto',
            compute: { module, entryPoint: 'main', constants: numeric(consts) },
          }),
        }));
        expect(relError(emulated, want), `${twin} (f16 read as f32)`).toBeLessThan(1e-5);
      });
    });
  });

  it('halfAsF32 refuses a kernel that is not a native-f16 twin', () => {
    expect(() => halfAsF32(shaderSources['gemv_coop']!)).toThrow(/not a native-f16 kernel/);
  });
});

function numeric(consts: Consts): Record<string, number> {
  return Object.fromEntries(Object.entries(consts).map(([k, v]) => [k, Number(v)]));
}
