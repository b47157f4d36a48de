/**
 * The memory estimate, the precision default and the list of known checkpoints: parameter counts from the
 * closed formula of Mamba-1's tensors, the binding splits the issue names (the embedding of 130m in f32 and of
 * 790m+ in f16 exceed a 128 MiB binding), and refusals with their messages.
 */
import { describe, expect, it } from 'vitest';
import { parseMambaConfig, type MambaConfig } from '../src/model/config.ts';
import { ModelTooLargeError } from '../src/model/errors.ts';
import { KNOWN_MODELS } from '../src/model/hub.ts';
import {
  assertFits,
  countParameters,
  defaultPrecision,
  estimateMemory,
  gpuActivationBytes,
} from '../src/model/memory.ts';
import { activationBytes } from '../src/engine/activations.ts';
import { m2SsdChoice } from '../src/engine/mamba2/decisions.ts';
import { randomMamba2Config } from '../src/engine/randomWeights.ts';

/** config.json of a state-spaces/mamba-*-hf checkpoint (their published fields). */
function hfConfig(hidden: number, layers: number): MambaConfig {
  return parseMambaConfig({
    model_type: 'mamba',
    vocab_size: 50280,
    hidden_size: hidden,
    num_hidden_layers: layers,
    state_size: 16,
    expand: 2,
    conv_kernel: 4,
    time_step_rank: 'auto',
    use_bias: false,
    use_conv_bias: true,
    tie_word_embeddings: true,
  });
}

/** Σ of Mamba-1 tensor sizes written out by hand (tied, conv bias, no linear biases). */
function formula(dm: number, L: number, V = 50280, ds = 16, dc = 4): number {
  const di = 2 * dm;
  const r = Math.ceil(dm / 16);
  const layer = dm + 2 * di * dm + di * dc + di + (r + 2 * ds) * di + di * r + di + di * ds + di + dm * di;
  return V * dm + L * layer + dm;
}

const MiB128 = { maxStorageBufferBindingSize: 128 * 2 ** 20, maxBufferSize: 256 * 2 ** 20 };

describe('memory estimate', () => {
  it('parameter counts follow the closed formula; 130m has about 129M parameters', () => {
    for (const m of KNOWN_MODELS) {
      expect(m.parameters).toBe(formula(m.hiddenSize, m.numLayers));
      expect(countParameters(hfConfig(m.hiddenSize, m.numLayers))).toBe(m.parameters);
    }
    const p130 = KNOWN_MODELS[0]!.parameters;
    expect(p130).toBeGreaterThan(128e6);
    expect(p130).toBeLessThan(131e6);
    const p28 = KNOWN_MODELS[4]!.parameters;
    expect(p28).toBeGreaterThan(2.7e9);
    expect(p28).toBeLessThan(2.8e9);
  });

  it('the known list: five state-spaces checkpoints, ordered by size, F32 download = 4 bytes per parameter', () => {
    expect(KNOWN_MODELS.map((m) => m.repo)).toEqual([
      'state-spaces/mamba-130m-hf',
      'state-spaces/mamba-370m-hf',
      'state-spaces/mamba-790m-hf',
      'state-spaces/mamba-1.4b-hf',
      'state-spaces/mamba-2.8b-hf',
    ]);
    for (let i = 0; i < KNOWN_MODELS.length; i++) {
      const m = KNOWN_MODELS[i]!;
      expect(m.downloadBytes).toBe(4 * m.parameters);
      expect(m.gpuBytes.f16).toBeLessThan(m.gpuBytes.f32);
      expect(m.gpuBytes.f32 - m.gpuBytes.f16).toBe(2 * m.parameters);
      // int8 saves about a byte per matrix weight against f16 (less the scales and the f32 small tensors).
      expect(m.gpuBytes.f16 - m.gpuBytes.int8).toBeGreaterThan(0.8 * m.parameters);
      expect(m.gpuBytes.f16 - m.gpuBytes.int8).toBeLessThan(m.parameters);
      if (i > 0) expect(m.parameters).toBeGreaterThan(KNOWN_MODELS[i - 1]!.parameters);
    }
  });

  it('the embedding splits where the issue says: 130m in f32, 790m and up in f16 (128 MiB bindings)', () => {
    const blocks = (dm: number, L: number, p: 'f32' | 'f16') =>
      estimateMemory(hfConfig(dm, L), p, MiB128).largestMatrix.blocks;
    expect(blocks(768, 24, 'f32')).toBe(2);
    expect(blocks(768, 24, 'f16')).toBe(1);
    expect(blocks(1024, 48, 'f16')).toBe(1);
    expect(blocks(1536, 48, 'f16')).toBe(2);
    expect(blocks(2560, 64, 'f16')).toBe(2);
    expect(blocks(2560, 64, 'f32')).toBe(4);
  });

  it('weights, activations and states add up', () => {
    const c = hfConfig(768, 24);
    const e = estimateMemory(c, 'f16');
    expect(e.weightBytes).toBe(2 * countParameters(c));
    expect(e.totalBytes).toBe(e.weightBytes + e.activationBytes + e.stateBytes);
    // Four live states of 24 layers × 1536 channels × (16 + 3 + 1) floats.
    expect(e.stateBytes).toBe(4 * 4 * 24 * 1536 * 20);
  });

  it("activations are the engine's GPU buffers: 512-token chunks, per-token logits, split-K partials", () => {
    // mamba-130m (d_model 768, d_inner 1536, x_proj 80 outputs, vocab 50280) at 512 tokens per chunk, each
    // buffer padded to 16 bytes: dims 16, tokens / targets / nll 3 × 2048, resid / delta / normed 3 × 512·768·4,
    // xz 512·3072·4, xc / y / dt 3 × 512·1536·4, dbc 512·80·4, logits 512·50280·4, lastNormed 768·4,
    // lastLogits 50280·4, sampler params 16, rng 16, sampler report 35 words → 144, two 16-byte stand-ins.
    const buffers =
      16 +
      3 * 2048 +
      3 * 512 * 768 * 4 +
      512 * 3072 * 4 +
      3 * 512 * 1536 * 4 +
      512 * 80 * 4 +
      512 * 50280 * 4 +
      768 * 4 +
      50280 * 4 +
      16 +
      16 +
      144 +
      32;
    // Split-K partials, largest over chunk lengths: out_proj (768 rows, K 1536, so 128 x 64 tiles and at most 16
    // splits) at 385..512 tokens has 4 × 12 = 48 tiles, so ⌈264 / 48⌉ = 6 splits: 6 × 512 × 768 floats (the
    // same as 8 × 384 × 768 at 384; in_proj, on 64 x 64 tiles for K 768, peaks at 2 × 320 × 3072, x_proj at
    // 16 × 512 × 80).
    const partials = 6 * 512 * 768 * 4;
    expect(estimateMemory(hfConfig(768, 24), 'f16').activationBytes).toBe(buffers + partials);
    expect(estimateMemory(hfConfig(768, 24), 'f32').activationBytes).toBe(buffers + partials);
    // A 16 MiB binding holds 83 tokens of logits (16 MiB / (50280 · 4)), so chunks shorten to 83 tokens, and
    // splits the f16 embedding into parts of ⌊(16 MiB − 16) / 1536⌋ = 10922 rows; such a part has 171 tiles at
    // up to 64 tokens, so 2 splits: 2 × 64 × 10922 floats, the largest partials now (in_proj: 6 × 64 × 3072).
    const t = 83;
    const small =
      16 +
      3 * 336 +
      3 * t * 768 * 4 +
      t * 3072 * 4 +
      3 * t * 1536 * 4 +
      t * 80 * 4 +
      t * 50280 * 4 +
      768 * 4 +
      50280 * 4 +
      16 +
      16 +
      144 +
      32 +
      2 * 64 * 10922 * 4;
    const limits = { maxStorageBufferBindingSize: 16 * 2 ** 20, maxBufferSize: 2 ** 30 };
    expect(estimateMemory(hfConfig(768, 24), 'f16', limits).activationBytes).toBe(small);
  });

  it("Mamba-2's split-K partials are sized for in_proj as prefill runs it", () => {
    // mamba2-130m (d_inner 1,536) runs in_proj whole by default (m2InProjSplitDefault: from 4,096): its 3,352
    // rows (K 768, 64 x 64 tiles) peak at 256 tokens (4 × 53 tiles, 2 splits) with 2 × 256 × 3352 floats; out_proj
    // (768 rows, K 1536, 128 x 64 tiles) needs more, 6 × 512 × 768 as at Mamba-1 130m.
    const c = randomMamba2Config('mamba2-130m');
    // Without the split-K buffer: the three SSD passes, as the estimate counts them without subgroups.
    const buffers = activationBytes(c, 512, m2SsdChoice('hardware'));
    expect(gpuActivationBytes(c, 'f16') - buffers).toBe(6 * 512 * 768 * 4);
    // mamba2-2.7b splits in_proj as [z | x] and [B | C | dt]; out_proj's 3 × 384 × 2,560 floats (3 splits of
    // 3 × 40 tiles of 128 x 64 at 384 tokens) are the most any part needs there ([z | x] peaks at
    // 2 × 128 × 10,240, [B | C | dt] at 15 × 384 × 336).
    const big = randomMamba2Config('mamba2-2.7b');
    const bigBuffers = activationBytes(big, 512, m2SsdChoice('hardware'));
    expect(gpuActivationBytes(big, 'f16') - bigBuffers).toBe(3 * 384 * 2560 * 4);
  });

  it('precision default: f16 above 500 MB of f32 weights, else the checkpoint own', () => {
    expect(defaultPrecision(hfConfig(768, 24), 'F32')).toBe('f16'); // 130m: 517 MB in f32
    const tiny = hfConfig(64, 2);
    expect(defaultPrecision(tiny, 'F32')).toBe('f32');
    expect(defaultPrecision(tiny, 'F16')).toBe('f16');
    expect(defaultPrecision(tiny, 'BF16')).toBe('f16');
    // Software adapters keep small models in f32 whatever the file holds, but not large ones.
    expect(defaultPrecision(tiny, 'F16', true)).toBe('f32');
    expect(defaultPrecision(hfConfig(768, 24), 'F16', true)).toBe('f16');
  });

  it('refuses a model over budget, suggesting f16 when that fits', () => {
    const c = hfConfig(2560, 64);
    const f16 = estimateMemory(c, 'f16').totalBytes;
    expect(() => assertFits(c, 'f32', MiB128, 8e9, 'state-spaces/mamba-2.8b-hf@main')).toThrow(
      ModelTooLargeError,
    );
    expect(() => assertFits(c, 'f32', MiB128, 8e9, 'state-spaces/mamba-2.8b-hf@main')).toThrow(
      /^state-spaces\/mamba-2\.8b-hf@main needs about 11 GB of GPU memory at f32 .* more than the 8\.0 GB available\. At f16 it needs about 5\.\d GB, which fits: choose f16 precision\.$/,
    );
    expect(f16).toBeLessThan(8e9);
    // Where f16 is too large, int8 is suggested when it fits, else a smaller model.
    expect(() => assertFits(c, 'f16', MiB128, 4e9)).toThrow(
      /more than the 4\.0 GB available\. At int8 it needs about 3\.\d GB, which fits: choose int8 precision\.$/,
    );
    expect(() => assertFits(c, 'f16', MiB128, 2e9)).toThrow(
      /more than the 2\.0 GB available\. Choose a smaller model\.$/,
    );
    expect(assertFits(c, 'f16', MiB128, 8e9).totalBytes).toBe(f16);
  });

  it('int8 holds the 2.8b matrices in a byte each plus a scale per row, the rest in f32: under 3 GB', () => {
    const c = hfConfig(2560, 64);
    const est = estimateMemory(c, 'int8', MiB128);
    const { vocabSize: V, hiddenSize: dm, intermediateSize: di, timeStepRank: r, stateSize: ds } = c;
    const matrices = V * dm + 64 * (2 * di * dm + (r + 2 * ds) * di + dm * di);
    const matrixRows = V + 64 * (2 * di + r + 2 * ds + dm);
    const small = countParameters(c) - matrices;
    expect(est.weightBytes).toBe(matrices + 4 * matrixRows + 4 * small);
    expect(est.weightBytes / 1e9).toBeGreaterThan(2.7);
    expect(est.weightBytes / 1e9).toBeLessThan(3.0);
    expect(est.weightBytes).toBeLessThan(0.55 * estimateMemory(c, 'f16', MiB128).weightBytes);
    expect(est.largestMatrix.rowBytes).toBe(dm + 4);
  });

  it('refuses when one row cannot fit a binding', () => {
    expect(() =>
      assertFits(
        hfConfig(768, 24),
        'f32',
        { maxStorageBufferBindingSize: 1024, maxBufferSize: 1024 },
        undefined,
      ),
    ).toThrow(
      "This model cannot run on this GPU: one row of backbone.embeddings.weight (3 KB) exceeds the adapter's largest buffer binding (1 KB).",
    );
  });
});
