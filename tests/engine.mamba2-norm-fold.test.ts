/**
 * Mamba-2's gated RMSNorm folded into the fused SSD and out_proj (GatedNormForm 'fold', opt-in: slower on the
 * H100 than the pass it saves, bench/RESULTS.md session 16): m2_ssd_fused*_gate writes y·silu(z)·w and its partial sums of (y·silu(z))²
 * per token, gemm_tiled_rs scales each token's out_proj results by its rstd. On the real adapter (SwiftShader
 * here): the plan has no gated-norm pass; prefill logits equal the unfolded plan's ('loop') to 1e-5 and
 * transformers' (tests/fixtures/m2-tiny-*) to 1e-3, for each fused layout (16 rows, 8 rows, four rows an
 * invocation), with head_dim 24 (a workgroup of 8 live rows of 16), chunks of the engine that end inside an SSD
 * chunk of 16 tokens, and split-K on out_proj; and the options refuse the fold where the plan cannot take it.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { EngineDevice } from '../src/engine/gpu/device.ts';
import { openNodeDevice } from '../src/engine/gpu/node.ts';
import type { GatedNormForm } from '../src/engine/mamba2/decisions.ts';
import {
  mamba2NamedTensors,
  mamba2WeightsFromSource,
  type Mamba2Weights,
} from '../src/engine/mamba2Weights.ts';
import { GpuMambaModel, type EngineOptions } from '../src/engine/model.ts';
import { hostTensor } from '../src/engine/randomWeights.ts';
import { mamba2Forward } from '../src/engine/reference/mamba2.ts';
import { tensorShapesOf } from '../src/model/family.ts';
import { parseMamba2Config } from '../src/model/mamba2Config.ts';
import { relMaxDiff } from './helpers/fixtures.ts';
import { withScope } from './helpers/gpu.ts';
import { loadMamba2Fixture } from './helpers/mamba2Fixture.ts';

let dev: EngineDevice;
beforeAll(async () => {
  dev = await openNodeDevice();
});

const open = (w: Mamba2Weights, opts: Partial<EngineOptions>) =>
  GpuMambaModel.fromTensors(dev, w.config, mamba2NamedTensors(w), {
    dtype: 'f32',
    variant: 'hardware',
    ...opts,
  });

/**
 * Prefill logits of `tokens` from a fresh state, how many gated-norm passes the plan has, and whether layer 0's
 * out_proj splits along K at the engine's chunk length.
 */
async function prefillWith(w: Mamba2Weights, tokens: Int32Array, opts: Partial<EngineOptions>) {
  const engine = await open(w, opts);
  try {
    const body = engine.dispatchPlan!['body']!;
    const passes = body.filter((d) => d.label.endsWith('.gated_norm')).length;
    const reduce = body.find((d) => d.label === 'layer0.out_proj.splitk')!;
    const t = Math.min(tokens.length, engine.chunkSize);
    const splitK = reduce.size(t).every((n) => n > 0);
    const logits = await withScope(
      dev.device,
      async () => (await engine.prefill(engine.createState(), tokens, { logits: 'all' }))!,
    );
    return { logits, passes, splitK };
  } finally {
    engine.destroy();
  }
}

/** A small Mamba-2 with d_model 128 (out_proj's K of 256 splits along K), head_dim 24, 6 heads. */
function randomModel(): Mamba2Weights {
  const config = parseMamba2Config({
    model_type: 'mamba2',
    vocab_size: 200,
    hidden_size: 72,
    expand: 2,
    num_hidden_layers: 2,
    num_heads: 6,
    head_dim: 24,
    n_groups: 2,
    state_size: 16,
  });
  const shapes = tensorShapesOf(config);
  return mamba2WeightsFromSource(config, {
    has: (n) => shapes.has(n),
    shape: (n) => shapes.get(n)!,
    float32: (n) => hostTensor(config, n, 5),
  });
}

const tokensOf = (n: number, vocab: number) => Int32Array.from({ length: n }, (_, i) => (i * 53 + 7) % vocab);

describe("Mamba-2's gated norm folded into the fused SSD and out_proj", () => {
  it('with the hardware default fused SSD: no gated-norm pass, logits as the unfolded plan (1e-5) and transformers (1e-3)', async () => {
    for (const name of ['m2-tiny-a', 'm2-tiny-c'] as const) {
      const f = loadMamba2Fixture(name);
      const tokens = f.expected.int32('long.tokens');
      const folded = await prefillWith(f.weights, tokens, { gatedNorm: 'fold' });
      const loop = await prefillWith(f.weights, tokens, {});
      expect(folded.passes, `${name}: gated-norm passes`).toBe(0);
      expect(loop.passes, `${name}: gated-norm passes unfolded`).toBe(f.weights.config.numLayers);
      expect(relMaxDiff(folded.logits, loop.logits), name).toBeLessThan(1e-5);
      expect(relMaxDiff(folded.logits, f.expected.float32('long.logits')), name).toBeLessThan(1e-3);
    }
  });

  it('each fused layout, engine chunks of 40 tokens (SSD chunks of 16 end mid-chunk), head_dim 24: as the float64 reference', async () => {
    const w = randomModel();
    const tokens = tokensOf(100, w.config.vocabSize);
    const want = mamba2Forward(w, [...tokens]).logits;
    const forms: { ssd: EngineOptions['ssd']; gatedNorm: GatedNormForm }[] = [
      { ssd: 'fused', gatedNorm: 'fold' },
      { ssd: 'fused8', gatedNorm: 'fold' },
      { ssd: 'fused4r', gatedNorm: 'fold' },
      { ssd: 'fused-noprefetch', gatedNorm: 'fold' },
      { ssd: 'fused', gatedNorm: 'loop' },
    ];
    for (const opts of forms) {
      const got = await prefillWith(w, tokens, { ...opts, chunkSize: 40 });
      expect(got.passes, JSON.stringify(opts)).toBe(opts.gatedNorm === 'fold' ? 0 : w.config.numLayers);
      expect(got.splitK, `${JSON.stringify(opts)}: out_proj split along K`).toBe(true);
      expect(relMaxDiff(got.logits, want), JSON.stringify(opts)).toBeLessThan(1e-4);
    }
  });

  it('is refused where the plan cannot take it', async () => {
    const f = loadMamba2Fixture('m2-tiny-a');
    await expect(open(f.weights, { variant: 'software', gatedNorm: 'fold' })).rejects.toThrow(
      /hardware variant/,
    );
    await expect(open(f.weights, { ssd: 'passes', gatedNorm: 'fold' })).rejects.toThrow(/fused SSD form/);
    const tokens = f.expected.int32('long.tokens');
    const unfused = await prefillWith(f.weights, tokens, { ssd: 'passes' });
    expect(unfused.passes).toBe(f.weights.config.numLayers);
    expect(relMaxDiff(unfused.logits, f.expected.float32('long.logits'))).toBeLessThan(1e-3);
    // The option is checked before anything loads, misspelt or not.
    await expect(open(f.weights, { gatedNorm: 'folded' as GatedNormForm })).rejects.toThrow(
      /'loop', 'keep' or 'fold'/,
    );
  });
});
