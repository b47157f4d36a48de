/**
 * Mamba-2 prefill through the whole engine with the SSD passes on subgroup matrices (EngineOptions.ssd 'sgmm':
 * m2_ssd_chunk_state_sgmm → m2_ssd_state_pass_tiled → m2_ssd_chunk_scan_sgmm), f16 weights, on three of the
 * transformers fixtures (one group; two groups and d_conv 3 with an untied head; four groups and P 24, so the
 * 16-wide tiles are partial). Where the adapter has no subgroup matrices (SwiftShader here) the device is
 * described as offering them and the two kernels run as their EMULATE builds at Q 32 (operands rounded to f16
 * as the real kernels round them; tests/kernels.m2-ssd-sgmm.test.ts checks them kernel by kernel); where it
 * has them (the GPU machine) the real kernels run at the default Q 64.
 * - Against the same engine and weights with the tiled f32 passes: every position's logits within SGMM_TOL of
 *   the largest. This isolates what the f16 operands of the scan cost; a wrong index costs O(1).
 * - Against transformers: within 5e-2, the f16 weights' stated tolerance (tests/engine.mamba2.test.ts), and
 *   the first greedy token equal; the greedy agreement is reported.
 * The prompt is prefilled in chunks of 40 tokens, so the later chunks start from the state the earlier left.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EngineDevice } from '../src/engine/gpu/device.ts';
import { openNodeDevice } from '../src/engine/gpu/node.ts';
import { mamba2NamedTensors } from '../src/engine/mamba2Weights.ts';
import { GpuMambaModel, type EngineOptions } from '../src/engine/model.ts';
import { relMaxDiff } from './helpers/fixtures.ts';
import {
  buildWith,
  describedWithSubgroupMatrix,
  hasRealSubgroupMatrix,
  swapSources,
} from './helpers/emulate.ts';
import { argmaxRows, withScope } from './helpers/gpu.ts';
import { loadMamba2Fixture, type Mamba2FixtureName } from './helpers/mamba2Fixture.ts';

// Measured here (EMULATE builds, Q 32): 8.5e-5 to 3.0e-4 of the largest logit from the f32 passes, 6.3e-4 to
// 1.4e-3 from transformers (where the f16 weights cost most of it), every greedy token equal.
const SGMM_TOL = 2e-3;

let dev: EngineDevice;
let real = false;
let restore = () => {};
beforeAll(async () => {
  const opened = await openNodeDevice();
  real = hasRealSubgroupMatrix(opened);
  if (real) {
    dev = opened;
  } else {
    dev = describedWithSubgroupMatrix(opened);
    const kernels = ['m2_ssd_chunk_state_sgmm', 'm2_ssd_chunk_scan_sgmm'];
    restore = swapSources(
      Object.fromEntries(kernels.map((k) => [k, buildWith(`${k}.wgsl`, k, { EMULATE: '1' })])),
    );
  }
});
afterAll(() => restore());

describe('Mamba-2 prefill with the SSD on subgroup matrices (f16)', () => {
  const cases: [Mamba2FixtureName, string[]][] = [
    ['m2-tiny-a', ['long', 'a']],
    ['m2-tiny-b', ['long', 'one']],
    ['m2-tiny-c', ['long', 'one']],
  ];
  for (const [name, sequences] of cases) {
    it(`${name}: logits against the f32 passes and against transformers`, async () => {
      const f = loadMamba2Fixture(name);
      const V = f.weights.config.vocabSize;
      const base: Partial<EngineOptions> = { dtype: 'f16', variant: 'hardware', chunkSize: 40 };
      const open = (opts: Partial<EngineOptions>) =>
        GpuMambaModel.fromTensors(dev, f.weights.config, mamba2NamedTensors(f.weights), {
          dtype: 'f16',
          ...base,
          ...opts,
        });
      const sgmm = await open({ ssd: 'sgmm', ...(real ? {} : { ssdChunk: 32 }) });
      const passes = await open({ ssd: 'passes' });
      try {
        await withScope(dev.device, async () => {
          for (const seq of sequences) {
            const tokens = f.expected.int32(`${seq}.tokens`);
            const got = (await sgmm.prefill(sgmm.createState(), tokens, { logits: 'all' }))!;
            const ref = (await passes.prefill(passes.createState(), tokens, { logits: 'all' }))!;
            const vsPasses = relMaxDiff(got, ref);
            const vsFixture = relMaxDiff(got, f.expected.float32(`${seq}.logits`));
            const want = [...f.expected.int32(`${seq}.greedy`)];
            const greedy = await sgmm.generate(sgmm.createState(), tokens, { maxNewTokens: want.length });
            const agree = greedy.findIndex((id, i) => id !== want[i]);
            console.info(
              `${name} ${seq} (${real ? 'real kernels' : 'EMULATE'}): ${vsPasses.toExponential(2)} from the passes, ` +
                `${vsFixture.toExponential(2)} from transformers, ${agree < 0 ? 'all' : agree} of ${want.length} greedy tokens agree`,
            );
            expect(vsPasses, `${name} ${seq}`).toBeLessThan(SGMM_TOL);
            expect(vsFixture, `${name} ${seq}`).toBeLessThan(5e-2);
            expect(argmaxRows(got.subarray(got.length - V), V)[0]).toBe(want[0]);
          }
        });
      } finally {
        sgmm.destroy();
        passes.destroy();
      }
    });
  }

  it('refuses f32 weights and a device without subgroup matrices, saying why', async () => {
    const f = loadMamba2Fixture('m2-tiny-a');
    const open = (d: EngineDevice, dtype: 'f32' | 'f16') =>
      GpuMambaModel.fromTensors(d, f.weights.config, mamba2NamedTensors(f.weights), {
        dtype,
        variant: 'hardware',
        ssd: 'sgmm',
      });
    await expect(open(dev, 'f32')).rejects.toThrow(/f16 weights only/);
    await expect(open({ ...dev, subgroupMatrix: undefined }, 'f16')).rejects.toThrow(
      /needs a device with f16 subgroup matrices/,
    );
  });
});
