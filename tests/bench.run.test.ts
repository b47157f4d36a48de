/**
 * The benchmark over a real adapter (Dawn/SwiftShader) on the tiny-b fixture: figures are finite and add up
 * (no timed assertions: speed here says nothing), dispatch counts are the engine plan's, the per-kernel profile
 * times each kernel as often as a count by hand, the byte count matches a count by hand, and the logits check
 * of `soup bench --check` agrees with the fixture's transformers logits. On m2-tiny-a, Mamba-2's run reports the
 * page's path too.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeBytesPerToken } from '../src/bench/cost.ts';
import { formatText } from '../src/bench/format.ts';
import { runBenchmark, type BenchResult } from '../src/bench/run.ts';
import { checkLogits } from '../src/cli/bench.ts';
import type { EngineDevice } from '../src/engine/gpu/device.ts';
import { openNodeDevice } from '../src/engine/gpu/node.ts';
import { GpuMambaModel } from '../src/engine/model.ts';
import { randomConfig } from '../src/engine/randomWeights.ts';
import { writeSafetensors } from '../src/model/safetensors.ts';
import { mamba2NamedTensors } from '../src/engine/mamba2Weights.ts';
import { loadFixture, type Fixture } from './helpers/fixtures.ts';
import { withScope } from './helpers/gpu.ts';
import { loadMamba2Fixture } from './helpers/mamba2Fixture.ts';

let dev: EngineDevice;
let fx: Fixture;
let engine: GpuMambaModel;
let result: BenchResult;
let dir: string;

beforeAll(async () => {
  dev = await openNodeDevice();
  fx = loadFixture('tiny-b');
  // The software variant on every adapter: the counts below are that plan's (the GPU machine would pick hardware).
  engine = await GpuMambaModel.fromWeights(dev, fx.weights, {
    dtype: 'f32',
    chunkSize: 16,
    variant: 'software',
  });
  dir = mkdtempSync(join(tmpdir(), 'bench-test-'));
  result = await withScope(dev.device, () =>
    runBenchmark(
      {
        engine,
        aLogs: fx.weights.layers.map((l) => l.aLog),
        model: 'tiny-b',
        adapter: 'test',
        hasTimestamps: dev.hasTimestamps,
        uploadMs: 0,
      },
      { quick: true, prefillLengths: [8, 40], decodeTokens: 6, evalTokens: 20 },
    ),
  );
});
afterAll(() => {
  engine?.destroy();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('runBenchmark on tiny-b', () => {
  it('reports finite positive figures for every measurement', () => {
    expect(result.prefill.map((p) => p.tokens)).toEqual([8, 40]);
    for (const p of result.prefill) {
      expect(p.ms).toBeGreaterThan(0);
      expect(p.tokPerS).toBeCloseTo((p.tokens / p.ms) * 1000, 6);
    }
    expect(result.decode.tokens).toBe(6);
    expect(result.decode.tokPerS).toBeGreaterThan(0);
    expect(result.decode.msPerToken * result.decode.tokPerS).toBeCloseTo(1000, 6);
    expect(result.mixRescore.evalTokens).toBe(20);
    expect(result.mixRescore.totalMs).toBeGreaterThanOrEqual(result.mixRescore.scoreMs);
    // The page's path: tiny-b has no tokenizer, so the service reads UTF-8 bytes, one token each.
    const service = result.servicePath;
    expect(service).toBeDefined();
    expect(service?.evalTokens).toBe(20);
    expect(service?.requests).toBe(2);
    expect(service?.totalMs).toBeGreaterThanOrEqual(service?.minMs ?? Infinity);
    expect(service?.minMs).toBeGreaterThan(0);
    expect(formatText(result)).toContain('page path: recipe → score 20');
    expect(result.dispatchFloor.ms).toBeGreaterThan(0);
    expect(result.notes.filter((n) => n.includes('non-finite'))).toEqual([]);
    expect(formatText(result)).toContain('decode 6');
  });

  it('counts the dispatches of the engine plan (tiny-b: 3 layers × 6 + embed, norm_f, head, sample)', () => {
    const plan = engine.dispatchPlan!;
    expect(engine.variant).toBe('software');
    expect(result.dispatchesPerDecodeToken).toBe(
      plan['decodeBody']!.length + plan['decodeHead']!.length + plan['sample']!.length,
    );
    // One head part (512 × 96 fits one binding): 1 + 3·6 + 1 + 1 + 1.
    expect(result.dispatchesPerDecodeToken).toBe(22);
    expect(result.dispatchesPerPrefillChunk).toBe(plan['body']!.length);
  });

  it('the hardware variant fuses decode to 4 dispatches per layer (tiny-b: 1 + 3·4 + head + sample)', async () => {
    const hw = await GpuMambaModel.fromWeights(dev, fx.weights, { dtype: 'f32', variant: 'hardware' });
    try {
      const plan = hw.dispatchPlan!;
      const n = plan['decodeBody']!.length + plan['decodeHead']!.length + plan['sample']!.length;
      expect(n).toBe(15);
      expect(plan['decodeBody']!.filter((d) => d.label.includes('gemv_fused'))).toHaveLength(9);
    } finally {
      hw.destroy();
    }
  });

  it('the per-kernel profile times each kernel of the plan, as many times as a count by hand', () => {
    if (!dev.hasTimestamps) {
      expect(result.profiles).toBeUndefined();
      expect(result.notes.join(' ')).toContain('no timestamp-query feature');
      return;
    }
    const [decode, prefill] = result.profiles!;
    const calls = (p: typeof decode) => Object.fromEntries(p!.kernels.map((k) => [k.kernel, k.calls]));
    // tiny-b, software variant: embed; per layer (3) norm, in_proj, conv, x_proj, scan, out_proj; norm_f; the
    // tied head as a GEMV over the embeddings; sample.
    expect(calls(decode)).toEqual({
      embed: 1,
      norm: 3,
      'in_proj.gemv': 3,
      conv: 3,
      'x_proj.gemv': 3,
      scan: 3,
      'out_proj.gemv': 3,
      norm_f: 1,
      'embedding.gemv': 1,
      sample: 1,
    });
    expect(decode!.tokens).toBe(1);
    // A prefill chunk (16 tokens) runs the same six kernels per layer (the projections as GEMMs, whichever
    // tiling the engine picks) after the embedding, and no head or sampling: 1 + 3·6 dispatches.
    expect(prefill!.tokens).toBe(16);
    const p = calls(prefill);
    expect(p).toMatchObject({ embed: 1, norm: 3, conv: 3, scan: 3 });
    for (const proj of ['in_proj', 'x_proj', 'out_proj']) {
      const n = Object.entries(p).filter(([k]) => k.startsWith(`${proj}.`));
      expect(
        n.reduce((a, [, c]) => a + c, 0),
        proj,
      ).toBe(3);
    }
    expect(Object.values(p).reduce((a, c) => a + c, 0)).toBe(19);
    for (const phase of [decode!, prefill!]) {
      for (const k of phase.kernels) expect(Number.isFinite(k.ms) && k.ms >= 0, k.kernel).toBe(true);
      // Timestamps that all read zero would make the breakdown meaningless (run.ts notes it; here it fails).
      expect(phase.gpuMs).toBeGreaterThan(0);
    }
  });
});

describe('decode bytes per token', () => {
  it('130m f16 and f32: matrices counted by hand', () => {
    const c = randomConfig('130m');
    // in_proj 3072×768, x_proj 80×1536, out_proj 768×1536 per layer; head 50280×768.
    const perLayer = 3072 * 768 + 80 * 1536 + 768 * 1536;
    const f16 = decodeBytesPerToken(c, 'f16');
    const f32 = decodeBytesPerToken(c, 'f32');
    expect(f16.layerMatrices).toBe(24 * perLayer * 2);
    expect(f32.layerMatrices).toBe(24 * perLayer * 4);
    expect(f16.head).toBe(50280 * 768 * 2);
    expect(f32.paramsAndState).toBe(f16.paramsAndState);
    expect(f16.total).toBe(f16.layerMatrices + f16.head + f16.paramsAndState);
  });
});

describe('soup bench --check', () => {
  it("agrees with transformers' logits of the fixture (1e-3 relative) and sees a wrong file", async () => {
    const tokens = fx.expected.int32('p1.tokens');
    const logits = fx.expected.float32('p1.logits');
    const V = fx.weights.config.vocabSize;
    const good = join(dir, 'check.safetensors');
    writeFileSync(
      good,
      writeSafetensors({
        'check.tokens': { dtype: 'I32', shape: [tokens.length], data: tokens },
        'check.logits': { dtype: 'F32', shape: [tokens.length, V], data: logits },
      }),
    );
    const ok = await checkLogits(engine, good);
    expect(ok.tokens).toBe(tokens.length);
    expect(ok.relMaxDiff).toBeLessThan(1e-3);
    expect(ok.argmaxAgreement).toBe(1);
    // The same logits shifted by one position must not pass.
    const shifted = logits.slice();
    shifted.copyWithin(0, V);
    const bad = join(dir, 'bad.safetensors');
    writeFileSync(
      bad,
      writeSafetensors({
        'check.tokens': { dtype: 'I32', shape: [tokens.length], data: tokens },
        'check.logits': { dtype: 'F32', shape: [tokens.length, V], data: shifted },
      }),
    );
    expect((await checkLogits(engine, bad)).relMaxDiff).toBeGreaterThan(1e-2);
  });
});

describe('which f16 path the benchmark reports', () => {
  it('f16 weights: native where this device has shader-f16, else packed, with the adapter features in the header', async () => {
    expect(result.f16Kernels).toBeUndefined(); // f32 weights have no f16 path
    const f16 = await GpuMambaModel.fromWeights(dev, fx.weights, { dtype: 'f16', chunkSize: 16 });
    try {
      const r = await withScope(dev.device, () =>
        runBenchmark(
          {
            engine: f16,
            aLogs: fx.weights.layers.map((l) => l.aLog),
            model: 'tiny-b',
            adapter: 'test',
            adapterFeatures: dev.adapterFeatures,
            hasTimestamps: false,
            uploadMs: 0,
          },
          { quick: true, prefillLengths: [8], decodeTokens: 4, evalTokens: 8 },
        ),
      );
      expect(r.f16Kernels).toBe(dev.hasShaderF16 ? 'native' : 'packed');
      expect(r.adapterFeatures).toEqual(dev.adapterFeatures);
      const text = formatText(r);
      expect(text).toMatch(
        dev.hasShaderF16 ? /weights +f16 \(native shader-f16 loads/ : /weights +f16 \(packed two per u32/,
      );
      expect(text).toMatch(new RegExp(`adapter features +${dev.adapterFeatures[0]}`));
    } finally {
      f16.destroy();
    }
  });
});

describe('runBenchmark on m2-tiny-a (Mamba-2)', () => {
  it('times the page path through the engine service as for Mamba-1, with finite figures', async () => {
    const f = loadMamba2Fixture('m2-tiny-a');
    const m2 = await GpuMambaModel.fromTensors(dev, f.weights.config, mamba2NamedTensors(f.weights), {
      dtype: 'f32',
      chunkSize: 16,
      variant: 'software',
    });
    try {
      const r = await withScope(dev.device, () =>
        runBenchmark(
          {
            engine: m2,
            aLogs: f.weights.layers.map((l) => l.aLog),
            model: 'm2-tiny-a',
            adapter: 'test',
            hasTimestamps: dev.hasTimestamps,
            uploadMs: 0,
          },
          { quick: true, prefillLengths: [8], decodeTokens: 4, evalTokens: 20 },
        ),
      );
      const service = r.servicePath;
      expect(service?.evalTokens).toBe(20);
      expect(service?.requests).toBe(2);
      expect(service?.minMs).toBeGreaterThan(0);
      expect(service?.totalMs).toBeGreaterThanOrEqual(service?.minMs ?? Infinity);
      expect(formatText(r)).toContain('page path: recipe → score 20');
      expect(r.notes.filter((n) => n.includes('non-finite'))).toEqual([]);
    } finally {
      m2.destroy();
    }
  });
});
