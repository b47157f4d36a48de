/**
 * Prefill chunks that span several tiles of the tiled kernels (shaders/conv1d.wgsl: 8 tokens per invocation,
 * tile 0 owning the conv state; shaders/dt_proj.wgsl: 64 tokens x 64 channels, 16 of R per step) against the
 * float64 CPU reference, in both kernel variants (conv1d is shared, dt_proj runs in the hardware one). The sizes
 * are awkward on purpose: a 150-token chunk (3 token tiles of dt_proj, the last partial; 19 conv tiles, the last
 * 6 tokens), channel counts not a multiple of 64 (tiny-b: d_inner 192 = 3 tiles; the random model: 200), R not a
 * multiple of 16 (6, 21), and follow-up chunks shorter than d_conv - 1 (1 and 2 tokens), where the new conv state
 * mixes the old state with the chunk's inputs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EngineDevice } from '../src/engine/gpu/device.ts';
import { openNodeDevice } from '../src/engine/gpu/node.ts';
import { GpuMambaModel, type EngineOptions, type KernelVariant } from '../src/engine/model.ts';
import { referenceForward } from '../src/engine/reference/mamba.ts';
import { randomConfig, randomHostWeights } from '../src/engine/randomWeights.ts';
import type { MambaState, MambaWeights } from '../src/engine/weights.ts';
import { loadFixture, relMaxDiff } from './helpers/fixtures.ts';
import { withScope } from './helpers/gpu.ts';

let dev: EngineDevice;
beforeAll(async () => {
  dev = await openNodeDevice();
});
afterAll(() => undefined);

/** Deterministic token ids below `vocab` (a small LCG, so the test needs no fixture sequence this long). */
function tokens(n: number, vocab: number, seed: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % vocab;
  });
}

function expectStates(got: MambaState, want: MambaState, what: string) {
  got.layers.forEach((ls, l) => {
    const r = want.layers[l]!;
    expect(relMaxDiff(ls.ssm, r.ssm), `${what} ssm ${l}`).toBeLessThan(1e-3);
    expect(relMaxDiff(ls.conv, r.conv), `${what} conv ${l}`).toBeLessThan(1e-3);
    expect(relMaxDiff(ls.dtSum, r.dtSum), `${what} dtSum ${l}`).toBeLessThan(1e-3);
  });
}

/** Prefills `parts` one after another (chunks of up to 160 tokens) and checks each against the reference. */
async function expectPrefillParts(w: MambaWeights, parts: number[][], opts: Omit<EngineOptions, 'dtype'>) {
  const V = w.config.vocabSize;
  await withScope(dev.device, async () => {
    const m = await GpuMambaModel.fromWeights(dev, w, { dtype: 'f32', chunkSize: 160, ...opts });
    const s = m.createState();
    try {
      let prev: MambaState | undefined;
      for (const [i, part] of parts.entries()) {
        const ref = referenceForward(w, part, prev);
        const got = (await m.prefill(s, part, { logits: 'all' }))!;
        expect(got.length).toBe(part.length * V);
        expect(relMaxDiff(got, ref.logits), `part ${i} logits`).toBeLessThan(1e-3);
        expectStates(await m.readState(s), ref.state, `part ${i}`);
        prev = ref.state;
      }
    } finally {
      s.destroy();
      m.destroy();
    }
  });
}

const models: { name: string; weights: () => MambaWeights }[] = [
  { name: 'tiny-b', weights: () => loadFixture('tiny-b').weights },
  {
    name: 'random d_inner 200, R 21, d_conv 4',
    weights: () =>
      randomHostWeights(
        {
          ...randomConfig('130m'),
          vocabSize: 300,
          hiddenSize: 100,
          intermediateSize: 200,
          timeStepRank: 21,
          stateSize: 8,
          numLayers: 2,
        },
        3,
      ),
  },
];

for (const mdl of models) {
  for (const variant of ['software', 'hardware'] as KernelVariant[]) {
    describe(`${mdl.name} (${variant})`, () => {
      it('a 150-token chunk, then chunks of 2 and 1 tokens, give the reference logits and states within 1e-3', async () => {
        const w = mdl.weights();
        const V = w.config.vocabSize;
        await expectPrefillParts(w, [tokens(150, V, 7), tokens(2, V, 8), tokens(1, V, 9)], { variant });
      });
    });
  }
}

// The prefill GEMM's configurations (shaders/gemm_tiled.wgsl), forced: 128 x 128 tiles everywhere (the 150-token
// chunk is a full and a partial token tile), and 64 x 64 tiles with as much split-K as K allows (x_proj and
// out_proj have K = 200: 13 steps of 16, 3 splits; the reduce adds them and the bias-free partials), and the
// mid path's 64 x 128 and 128 x 64 tiles (`prefillGemm.midTile`) with and without split-K.
describe('random d_inner 200 (hardware), prefill GEMM configurations forced', () => {
  const forced = [
    { name: '128 x 128 tiles', prefillGemm: { bigMinTiles: 1 } },
    { name: '64 x 64 tiles, split-K', prefillGemm: { bigMinTiles: 1e9, splitTarget: 1e6 } },
    // The mid path's other tiles, with split-K: the reduce must count the splits with the same TM / TN. A
    // target of 9 splits out_proj (100 outputs, K 200) 3 ways on these tiles (3 and 4 of them at 150 tokens) and
    // 2 ways on 64 x 64 ones (6), so a reduce counting with the wrong tile adds the wrong partials.
    { name: '64 x 128 tiles, split-K', prefillGemm: { splitTarget: 9, midTile: '64x128' as const } },
    { name: '128 x 64 tiles, split-K', prefillGemm: { splitTarget: 9, midTile: '128x64' as const } },
    { name: '64 x 128 tiles, no split', prefillGemm: { splitTarget: 1, midTile: '64x128' as const } },
  ];
  for (const f of forced) {
    it(`${f.name}: a 150-token chunk, then 2 tokens, give the reference logits and states within 1e-3`, async () => {
      const w = models[1]!.weights();
      const V = w.config.vocabSize;
      await expectPrefillParts(w, [tokens(150, V, 7), tokens(2, V, 8)], {
        variant: 'hardware',
        prefillGemm: f.prefillGemm,
      });
    });
  }
});
