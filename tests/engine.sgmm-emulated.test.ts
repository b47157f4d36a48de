/**
 * The engine's subgroup-matrix prefill path (src/engine/plan/sgmatGemm.ts: to_f16 into the shared f16 copy of X,
 * gemm_sgmm with the choice's overrides, split-K and its reduce, gemm_tiled for the parts a variant cannot take)
 * where no adapter has subgroup matrices (SwiftShader here): the device is described as offering them, and the
 * chosen variant's WGSL is its EMULATE build (tests/kernels.sgmm-emulated.test.ts checks that build against
 * float64 kernel by kernel). Prefill logits of a small random model in f16, in two chunks (the second shorter
 * than a tile), must match the float64 reference within 1e-2 of the largest logit where the activations are
 * rounded to f16 at each GEMM's input, which costs about 1e-3 here (a wrong index costs O(1)), and within 1e-4
 * for the _x2 variant, which multiplies X as hi + lo halves.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { SgmmChoice } from '../src/engine/sgmmDecisions.ts';
import type { EngineDevice } from '../src/engine/gpu/device.ts';
import { weightsAsHeld } from '../src/engine/gpu/weightMatrix.ts';
import { openNodeDevice } from '../src/engine/gpu/node.ts';
import { GpuMambaModel } from '../src/engine/model.ts';
import { referenceForward } from '../src/engine/reference/mamba.ts';
import { randomConfig, randomHostWeights } from '../src/engine/randomWeights.ts';
import { relMaxDiff } from './helpers/fixtures.ts';
import { describedWithSubgroupMatrix, emulateGemmSgmm } from './helpers/emulate.ts';
import { withScope } from './helpers/gpu.ts';

let dev: EngineDevice;
beforeAll(async () => {
  dev = describedWithSubgroupMatrix(await openNodeDevice());
});

// d_model 64: in_proj 256 rows, out_proj 64; x_proj 36 rows and the tied 300-row LM head are not multiples of 16,
// so a variant that loads W straight leaves them on gemm_tiled.
const config = {
  ...randomConfig('130m'),
  vocabSize: 300,
  hiddenSize: 64,
  intermediateSize: 128,
  timeStepRank: 4,
  stateSize: 16,
  numLayers: 2,
};

// tol: 1e-2 where X is rounded to f16 at each GEMM's input (about 1e-3 here); the _x2 variant, X as hi + lo
// f16 halves, must keep the f32 GEMM's accuracy.
const CHOICES: { c: SgmmChoice; what: string; tol: number }[] = [
  {
    c: { kernel: 'gemm_sgmm_fs_db', SGM: 1, SGN: 1, TI: 1, TJ: 2, BK: 16 },
    what: 'X f32 staged, double-buffered',
    tol: 1e-2,
  },
  {
    c: { kernel: 'gemm_sgmm_dd', SGM: 1, SGN: 1, TI: 1, TJ: 1, BK: 32 },
    what: 'X f16 (to_f16) and W straight',
    tol: 1e-2,
  },
  {
    c: { kernel: 'gemm_sgmm_ds_db_x2', SGM: 1, SGN: 1, TI: 1, TJ: 2, BK: 16 },
    what: 'X as hi + lo f16 halves (to_f16_x2), W staged',
    tol: 1e-4,
  },
];

describe('engine prefill on emulated subgroup-matrix GEMMs', () => {
  for (const { c, what, tol } of CHOICES) {
    it(`${c.kernel} (${what}) matches the float64 reference`, async () => {
      // Restored after the test, so no later test in the same process (the GPU machine's bundle) sees it.
      const restore = emulateGemmSgmm(c.kernel);
      const w = randomHostWeights(config, 5);
      const held = weightsAsHeld(w, 'f16');
      const tokens = Array.from({ length: 70 }, (_, i) => (i * 37 + 11) % config.vocabSize);
      await withScope(dev.device, async () => {
        const m = await GpuMambaModel.fromWeights(dev, w, {
          dtype: 'f16',
          variant: 'hardware',
          subgroupMatrix: true,
          sgmm: c,
          chunkSize: 40,
        });
        const s = m.createState();
        try {
          expect(m.prefillGemmKernel).toBe(c.kernel);
          const got = (await m.prefill(s, tokens, { logits: 'all' }))!;
          const ref = referenceForward(held, tokens);
          expect(relMaxDiff(got, ref.logits)).toBeLessThan(tol);
        } finally {
          s.destroy();
          m.destroy();
        }
      }).finally(restore);
    });
  }
});
