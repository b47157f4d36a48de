/**
 * Random weights generated on the GPU (shaders/fill_random.wgsl), on a real adapter: the kernel writes exactly
 * the host's hashUniform values (f32 bit for bit; f16 within half an f16 ulp), row parts start at the right
 * element, odd f16 parts end with a zero half, int8 words and scales are the host values quantised with
 * bound / 127; and small random models built through GpuMambaModel.uploadTensorGenerated (f32, int8) give the
 * CPU reference's logits on the host copy of the same weights.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openNodeDevice } from '../src/engine/gpu/node.ts';
import type { EngineDevice } from '../src/engine/gpu/device.ts';
import {
  createRandomEngine,
  GpuRandomFill,
  hashUniform,
  hostTensor,
  parseRandomModel,
  randomConfig,
  randomModelConfig,
  randomHostWeights,
  randomWeightsAsHeld,
  tensorKey,
} from '../src/engine/randomWeights.ts';
import { referenceForward } from '../src/engine/reference/mamba.ts';
import { mamba2Forward } from '../src/engine/reference/mamba2.ts';
import { mamba2WeightsFromSource } from '../src/engine/mamba2Weights.ts';
import { tensorShapesOf } from '../src/model/family.ts';
import { parseMamba2Config } from '../src/model/mamba2Config.ts';
import { f16ToF32 } from '../src/model/safetensors.ts';
import type { MambaConfig } from '../src/model/config.ts';
import { relMaxDiff } from './helpers/fixtures.ts';
import { withScope } from './helpers/gpu.ts';

let dev: EngineDevice;
beforeAll(async () => {
  dev = await openNodeDevice();
});
afterAll(() => undefined);

async function readWords(device: GPUDevice, src: GPUBuffer, bytes: number): Promise<Uint32Array> {
  const read = device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const enc = device.createCommandEncoder();
  enc.copyBufferToBuffer(src, 0, read, 0, bytes);
  device.queue.submit([enc.finish()]);
  await read.mapAsync(GPUMapMode.READ);
  const out = new Uint32Array(read.getMappedRange().slice(0));
  read.destroy();
  return out;
}

describe('fill_random kernel', () => {
  it('f32: every word equals hashUniform bit for bit, at a part that starts at row 7', async () => {
    await withScope(dev.device, async () => {
      const rows = 300;
      const cols = 97;
      const row0 = 7;
      const key = tensorKey('some.matrix', 3);
      const bound = 0.0346;
      const buffer = dev.device.createBuffer({
        size: rows * cols * 4,
        usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC,
      });
      new GpuRandomFill(dev.device).fill({ row0, rows, buffer }, cols, 'f32', key, bound);
      const got = new Float32Array((await readWords(dev.device, buffer, rows * cols * 4)).buffer);
      buffer.destroy();
      let mismatches = 0;
      for (let i = 0; i < rows * cols; i++) {
        if (got[i] !== hashUniform(row0 * cols + i, key, bound)) mismatches++;
      }
      expect(mismatches).toBe(0);
      // Not constant, and spread as a uniform of that bound: std = bound/√3 within 2 %.
      let s = 0;
      let s2 = 0;
      for (const v of got) {
        s += v;
        s2 += v * v;
      }
      const mean = s / got.length;
      const std = Math.sqrt(s2 / got.length - mean * mean);
      expect(Math.abs(mean)).toBeLessThan(0.02 * bound);
      expect(Math.abs(std / (bound / Math.sqrt(3)) - 1)).toBeLessThan(0.02);
    });
  });

  it('f16: packed pairs (low half first) round the host values; an odd part ends with a zero half', async () => {
    await withScope(dev.device, async () => {
      const rows = 33;
      const cols = 41; // 1353 elements: odd
      const row0 = 100;
      const key = tensorKey('other.matrix', 9);
      const bound = 0.5;
      const words = Math.ceil((rows * cols) / 2);
      const buffer = dev.device.createBuffer({
        size: words * 4,
        usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC,
      });
      new GpuRandomFill(dev.device).fill({ row0, rows, buffer }, cols, 'f16', key, bound);
      const got = await readWords(dev.device, buffer, words * 4);
      buffer.destroy();
      let worst = 0;
      for (let i = 0; i < rows * cols; i++) {
        const w = got[i >> 1]!;
        const half = i & 1 ? w >>> 16 : w & 0xffff;
        const want = hashUniform(row0 * cols + i, key, bound);
        // Half an f16 ulp at |v| < 0.5 is at most 2^−12.
        worst = Math.max(worst, Math.abs(f16ToF32(half) - want));
      }
      expect(worst).toBeLessThanOrEqual(2 ** -12);
      expect(got[words - 1]! >>> 16).toBe(0);
    });
  });

  it('int8: four values per word (low byte first), round(value / s) with s = bound / 127, then the scales', async () => {
    await withScope(dev.device, async () => {
      const rows = 30;
      const cols = 96;
      const row0 = 5;
      const group = 32;
      const key = tensorKey('some.matrix', 4);
      const bound = 0.0346;
      const words = (rows * cols) / 4;
      const scales = rows * (cols / group);
      const bytes = (words + scales) * 4;
      const buffer = dev.device.createBuffer({
        size: bytes,
        usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
      });
      new GpuRandomFill(dev.device).fill({ row0, rows, buffer }, cols, 'int8', key, bound, group);
      const got = await readWords(dev.device, buffer, bytes);
      buffer.destroy();
      const s = Math.fround(bound / 127);
      let mismatches = 0;
      let nearTies = 0;
      for (let i = 0; i < rows * cols; i++) {
        const q = ((got[i >> 2]! >>> (8 * (i & 3))) << 24) >> 24;
        const x = hashUniform(row0 * cols + i, key, bound) / s;
        // WGSL's division may be off by an ulp or two: values this close to a half may round either way.
        if (Math.abs(Math.abs(x - Math.trunc(x)) - 0.5) < 1e-4) nearTies++;
        else if (q !== Math.max(-127, Math.min(127, Math.round(x)))) mismatches++;
      }
      expect(mismatches).toBe(0);
      expect(nearTies).toBeLessThan(10);
      expect(Array.from(new Float32Array(got.buffer, words * 4, scales))).toEqual(new Array(scales).fill(s));
    });
  });
});

describe('random models', () => {
  it('parses the size names and gives the real dimensions', () => {
    expect(parseRandomModel('random:2.8b')).toBe('2.8b');
    expect(parseRandomModel('random:7b')).toBeUndefined();
    expect(parseRandomModel('models/x')).toBeUndefined();
    const c = randomConfig('2.8b');
    expect([c.hiddenSize, c.numLayers, c.intermediateSize, c.timeStepRank, c.vocabSize]).toEqual([
      2560, 64, 5120, 160, 50280,
    ]);
  });

  it('host vectors have the intended scales (Δ in [0.001, 0.1], A_log = log 1..16)', () => {
    const c = randomConfig('130m');
    const bias = hostTensor(c, 'backbone.layers.3.mixer.dt_proj.bias', 0);
    const dt = Array.from(bias, (b) => Math.log1p(Math.exp(b)));
    expect(Math.min(...dt)).toBeGreaterThanOrEqual(0.001 * 0.999);
    expect(Math.max(...dt)).toBeLessThanOrEqual(0.1 * 1.001);
    const aLog = hostTensor(c, 'backbone.layers.0.mixer.A_log', 0);
    expect(aLog[15]).toBeCloseTo(Math.log(16), 6);
    expect(aLog[16]).toBe(0);
  });

  it('a small random model filled on the GPU gives the CPU reference logits on the host copy (f32, 1e-3)', async () => {
    const config: MambaConfig = {
      ...randomConfig('130m'),
      vocabSize: 300,
      hiddenSize: 64,
      intermediateSize: 128,
      numLayers: 3,
      timeStepRank: 4,
    };
    await withScope(dev.device, async () => {
      // A 4 KiB binding limit splits every matrix into several row parts, so part offsets are exercised.
      const { engine, aLogs } = await createRandomEngine(
        dev,
        config,
        { dtype: 'f32', maxBindingBytes: 4096 },
        5,
      );
      try {
        expect(aLogs).toHaveLength(3);
        const tokens = [1, 17, 299, 42, 42, 7, 150, 3];
        const got = (await engine.prefill(engine.createState(), tokens, { logits: 'all' }))!;
        const want = referenceForward(randomHostWeights(config, 5), tokens).logits;
        const diff = relMaxDiff(got, want);
        expect(diff).toBeLessThan(1e-3);
        // The logits are not trivially small (a fill that wrote zeros would also "match" a zero model).
        expect(Math.max(...Array.from(want, Math.abs))).toBeGreaterThan(1e-2);
      } finally {
        engine.destroy();
      }
    });
  });

  it('an int8 random model (scale bound / 127 per row) gives the CPU reference logits on the host copy so quantised', async () => {
    const config: MambaConfig = {
      ...randomConfig('130m'),
      vocabSize: 300,
      hiddenSize: 64,
      intermediateSize: 128,
      numLayers: 3,
      timeStepRank: 4,
    };
    const held = randomWeightsAsHeld(config, 5, 'int8');
    await withScope(dev.device, async () => {
      const { engine } = await createRandomEngine(dev, config, { dtype: 'int8', maxBindingBytes: 4096 }, 5);
      try {
        const tokens = [1, 17, 299, 42, 42, 7, 150, 3];
        const got = (await engine.prefill(engine.createState(), tokens, { logits: 'all' }))!;
        const want = referenceForward(held, tokens).logits;
        expect(relMaxDiff(got, want)).toBeLessThan(1e-3);
        expect(Math.max(...Array.from(want, Math.abs))).toBeGreaterThan(1e-2);
      } finally {
        engine.destroy();
      }
    });
  });

  it('Mamba-2 sizes: the state-spaces/mamba2-* dimensions', () => {
    const c = randomModelConfig('random:mamba2-2.7b');
    expect(c && 'numHeads' in c && [c.hiddenSize, c.numLayers, c.numHeads, c.headDim, c.stateSize]).toEqual([
      2560, 64, 80, 64, 128,
    ]);
    expect(randomModelConfig('random:mamba2-130m')?.numLayers).toBe(24);
    expect(randomModelConfig('random:130m')?.hiddenSize).toBe(768);
    expect(randomModelConfig('random:mamba2-7b')).toBeUndefined();
  });

  it('a small random Mamba-2 filled on the GPU gives the float64 reference on the host copy (f32, 1e-3)', async () => {
    const config = parseMamba2Config({
      model_type: 'mamba2',
      vocab_size: 300,
      hidden_size: 64,
      num_hidden_layers: 2,
      num_heads: 4,
      head_dim: 32,
      n_groups: 2,
      state_size: 16,
      tie_word_embeddings: false,
    });
    await withScope(dev.device, async () => {
      const { engine, aLogs } = await createRandomEngine(
        dev,
        config,
        { dtype: 'f32', maxBindingBytes: 4096 },
        5,
      );
      try {
        expect(aLogs.map((a) => a.length)).toEqual([4, 4]);
        const tokens = [1, 17, 299, 42, 42, 7, 150, 3];
        const got = (await engine.prefill(engine.createState(), tokens, { logits: 'all' }))!;
        const shapes = tensorShapesOf(config);
        const host = mamba2WeightsFromSource(config, {
          has: (n) => shapes.has(n),
          shape: (n) => shapes.get(n)!,
          float32: (n) => hostTensor(config, n, 5),
        });
        const want = mamba2Forward(host, tokens).logits;
        expect(relMaxDiff(got, want)).toBeLessThan(1e-3);
        expect(Math.max(...Array.from(want, Math.abs))).toBeGreaterThan(1e-2);
      } finally {
        engine.destroy();
      }
    });
  });
});
