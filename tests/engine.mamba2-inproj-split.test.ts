/**
 * Mamba-2's prefill in_proj as two GEMMs on the hardware variant (src/engine/mamba2/decisions.ts m2InProjSplits,
 * plan/gemm.ts prefillParts): [z | x] (rows [0, 2·d_inner)) and [B | C | dt] (the rest), each binding its range
 * of the same weight buffer, while decode still reads each row part whole in one fused GEMV. On the real adapter
 * (SwiftShader here): the plan's dispatches, and the results against transformers (tests/fixtures/m2-tiny-*) and
 * the float64 reference.
 *
 * Which model exercises what. A split is taken only where the part's buffer may be bound at it (a multiple of
 * the device's minStorageBufferOffsetAlignment, 256 on Dawn by default): m2-tiny-b (d_model 32, d_inner 64,
 * 168 rows of in_proj) splits at row 128, 16 KiB into its f32 buffer; in f16 with 2,048-byte bindings (parts of
 * 31 rows) 4 rows, 256 bytes, into the part from row 124, and it has projection biases (the second block's bias
 * offset). Its K of 32 allows no split-K, so a random model with d_model 128 (K 128: up to 2 splits) has the
 * thin [B | C | dt] block (40 rows) split along K and reduced. The same random model runs the subgroup-matrix
 * GEMMs (gemm_sgmm, EMULATE build as in tests/engine.sgmm-emulated.test.ts) on both blocks with one f16 copy
 * of X, or on the bulk with the 40-row rest on gemm_tiled where the variant loads W straight (whole tiles of
 * 16 rows only).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { EngineDevice } from '../src/engine/gpu/device.ts';
import { openNodeDevice } from '../src/engine/gpu/node.ts';
import type { Dispatch } from '../src/engine/kernels/pipelines.ts';
import {
  mamba2NamedTensors,
  mamba2WeightsFromSource,
  type Mamba2Weights,
} from '../src/engine/mamba2Weights.ts';
import { GpuMambaModel, type EngineOptions } from '../src/engine/model.ts';
import { hostTensor } from '../src/engine/randomWeights.ts';
import { mamba2Forward } from '../src/engine/reference/mamba2.ts';
import type { SgmmChoice } from '../src/engine/sgmmDecisions.ts';
import { tensorShapesOf } from '../src/model/family.ts';
import { parseMamba2Config } from '../src/model/mamba2Config.ts';
import { f16ToF32, f32ToF16 } from '../src/model/safetensors.ts';
import { describedWithSubgroupMatrix, emulateGemmSgmm } from './helpers/emulate.ts';
import { relMaxDiff } from './helpers/fixtures.ts';
import { withScope } from './helpers/gpu.ts';
import { loadMamba2Fixture } from './helpers/mamba2Fixture.ts';

let dev: EngineDevice;
beforeAll(async () => {
  dev = await openNodeDevice();
});

const open = (d: EngineDevice, w: Mamba2Weights, opts: Partial<EngineOptions>) =>
  GpuMambaModel.fromTensors(d, w.config, mamba2NamedTensors(w), {
    dtype: 'f32',
    variant: 'hardware',
    // These tiny models are below the default's d_inner 4,096 (m2InProjSplitDefault): the split is forced.
    m2InProjSplit: true,
    ...opts,
  });

/** The prefill GEMMs of matrix `key` a chunk of `t` tokens runs (zero-workgroup dispatches are skipped). */
function gemmsAt(body: readonly Dispatch[], key: string, t: number): { grid: number[]; label: string }[] {
  return body
    .filter((d) => d.label.startsWith(`${key}.gemm`) && !d.label.endsWith('.splitk'))
    .map((d) => ({ grid: d.size(t), label: d.label }))
    .filter((g) => g.grid.every((n) => n > 0));
}

/** The plan runs each layer's in_proj as `blocks` GEMMs at `t` tokens, and reads it in `parts` fused GEMVs. */
function expectInProjDispatches(
  engine: GpuMambaModel,
  layers: number,
  t: number,
  blocks: number,
  parts: number,
) {
  const plan = engine.dispatchPlan!;
  for (let l = 0; l < layers; l++) {
    const key = `layer${l}.in_proj`;
    expect(gemmsAt(plan['body']!, key, t), `${key} prefill`).toHaveLength(blocks);
    // gemv_fused, or gemv_fused_sg where the device has subgroups (SwiftShader has); _h: native f16 (the H200).
    const decode = plan['decodeBody']!.filter((d) => d.label.startsWith(`${key}.`)).map((d) => d.label);
    expect(decode, `${key} decode`).toHaveLength(parts);
    for (const label of decode) expect(label).toMatch(/\.in_proj\.gemv_fused(_sg)?(_h)?$/);
  }
}

/** A small Mamba-2 with d_model 128 (K 128: split-K up to 2) and in_proj [z | x] 512 rows, [B | C | dt] 40. */
function randomModel(): Mamba2Weights {
  const config = parseMamba2Config({
    model_type: 'mamba2',
    vocab_size: 300,
    hidden_size: 128,
    num_hidden_layers: 2,
    num_heads: 8,
    head_dim: 32,
    n_groups: 1,
    state_size: 16,
  });
  const shapes = tensorShapesOf(config);
  return mamba2WeightsFromSource(config, {
    has: (n) => shapes.has(n),
    shape: (n) => shapes.get(n)!,
    float32: (n) => hostTensor(config, n, 9),
  });
}

/** The fixture's logits (to 1e-3) and greedy continuations of its long and one-token sequences, as transformers gave. */
async function expectTransformers(
  engine: GpuMambaModel,
  f: ReturnType<typeof loadMamba2Fixture>,
  sequences = ['long', 'one'],
) {
  await withScope(dev.device, async () => {
    for (const seq of sequences) {
      const tokens = f.expected.int32(`${seq}.tokens`);
      const logits = (await engine.prefill(engine.createState(), tokens, { logits: 'all' }))!;
      expect(relMaxDiff(logits, f.expected.float32(`${seq}.logits`)), seq).toBeLessThan(1e-3);
      const want = [...f.expected.int32(`${seq}.greedy`)];
      const got = await engine.generate(engine.createState(), tokens, { maxNewTokens: want.length });
      expect(got, `${seq} generate`).toEqual(want);
    }
  });
}

/** Deterministic token ids below `vocab`. */
const tokensOf = (n: number, vocab: number) => Array.from({ length: n }, (_, i) => (i * 37 + 11) % vocab);

describe("Mamba-2 prefill's in_proj in two GEMMs, [z | x] and [B | C | dt]", () => {
  it('m2-tiny-b (biases), f32: two GEMMs a layer (2 and 1 tiles wide), one fused GEMV; logits and greedy as transformers', async () => {
    const f = loadMamba2Fixture('m2-tiny-b');
    const c = f.weights.config;
    const engine = await open(dev, f.weights, {});
    try {
      const t = 40;
      expectInProjDispatches(engine, c.numLayers, t, 2, 1);
      // 128 rows of [z | x] are 2 tiles of 64, the 40 of [B | C | dt] one; whole, 168 rows would be 3.
      const grids = gemmsAt(engine.dispatchPlan!['body']!, 'layer0.in_proj', t).map((g) => g.grid[0]);
      expect(grids).toEqual([Math.ceil((2 * c.intermediateSize) / 64), 1]);
      await expectTransformers(engine, f);
    } finally {
      engine.destroy();
    }
  });

  it('m2-tiny-b, f32, split at row 160 (m2InProjSplitAt), 8 rows before the end of [B | C | dt]: 3 and 1 tiles wide; logits and greedy as transformers', async () => {
    const f = loadMamba2Fixture('m2-tiny-b');
    const c = f.weights.config;
    const at = 160;
    expect(at).toBeGreaterThan(2 * c.intermediateSize);
    expect(at).toBeLessThan(c.inProjSize);
    const engine = await open(dev, f.weights, { m2InProjSplitAt: at, m2InProjSplit: undefined });
    try {
      const grids = gemmsAt(engine.dispatchPlan!['body']!, 'layer0.in_proj', 40).map((g) => g.grid[0]);
      expect(grids).toEqual([Math.ceil(at / 64), Math.ceil((c.inProjSize - at) / 64)]);
      await expectTransformers(engine, f);
    } finally {
      engine.destroy();
    }
  });

  it('m2-tiny-b by default (d_inner below 4,096): in_proj whole, one GEMM a layer', async () => {
    const f = loadMamba2Fixture('m2-tiny-b');
    const c = f.weights.config;
    const engine = await open(dev, f.weights, { m2InProjSplit: undefined });
    try {
      expectInProjDispatches(engine, c.numLayers, 40, 1, 1);
      const grids = gemmsAt(engine.dispatchPlan!['body']!, 'layer0.in_proj', 40).map((g) => g.grid[0]);
      expect(grids).toEqual([Math.ceil(c.inProjSize / 64)]);
    } finally {
      engine.destroy();
    }
  });

  it('m2-tiny-b, f16 in 31-row parts: the split lands 4 rows into a part, 7 GEMMs a layer and 6 GEMVs; logits within 5e-2', async () => {
    const f = loadMamba2Fixture('m2-tiny-b');
    const engine = await open(dev, f.weights, { dtype: 'f16', maxBindingBytes: 2048 });
    try {
      // 168 rows in parts of ⌊(2048 − 16) / 64⌋ = 31: six parts, the one from row 124 run as 4 + 27 rows.
      expectInProjDispatches(engine, f.weights.config.numLayers, 40, 7, 6);
      await withScope(dev.device, async () => {
        const tokens = f.expected.int32('long.tokens');
        const logits = (await engine.prefill(engine.createState(), tokens, { logits: 'all' }))!;
        expect(relMaxDiff(logits, f.expected.float32('long.logits'))).toBeLessThan(5e-2);
      });
    } finally {
      engine.destroy();
    }
  });

  it('a random d_model 128 model, f32: [B | C | dt] split along K and reduced; a 150-token chunk, then 3 tokens, give the float64 logits and states', async () => {
    const w = randomModel();
    const engine = await open(dev, w, { chunkSize: 160 });
    const s = engine.createState();
    try {
      expectInProjDispatches(engine, w.config.numLayers, 150, 2, 1);
      // The rest's 40 rows are one tile per 64 tokens: 3 tiles at 150 tokens want ⌈264 / 3⌉ splits, K 128
      // allows 2; the bulk's 8 x 3 tiles the same.
      const body = engine.dispatchPlan!['body']!;
      expect(gemmsAt(body, 'layer0.in_proj', 150).map((g) => g.grid)).toEqual([
        [8, 3, 2],
        [1, 3, 2],
      ]);
      const reduces = body.filter((d) => d.label === 'layer0.in_proj.splitk' && d.size(150)[0] > 0);
      expect(reduces.map((d) => d.size(150))).toEqual([
        [8, 150, 1],
        [1, 150, 1],
      ]);
      await withScope(dev.device, async () => {
        const V = w.config.vocabSize;
        const parts = [tokensOf(150, V), [5, 299, 0]];
        let prev: ReturnType<typeof mamba2Forward>['state'] | undefined;
        for (const [i, part] of parts.entries()) {
          const ref = mamba2Forward(w, part, prev);
          const got = (await engine.prefill(s, part, { logits: 'all' }))!;
          expect(relMaxDiff(got, ref.logits), `part ${i} logits`).toBeLessThan(1e-3);
          expect(Math.max(...Array.from(ref.logits, Math.abs))).toBeGreaterThan(1e-2);
          const host = await engine.readState(s);
          host.layers.forEach((ls, l) => {
            expect(relMaxDiff(ls.ssm, ref.state.layers[l]!.ssm), `part ${i} ssm ${l}`).toBeLessThan(1e-4);
            expect(relMaxDiff(ls.conv, ref.state.layers[l]!.conv), `part ${i} conv ${l}`).toBeLessThan(1e-4);
          });
          prev = ref.state;
        }
      });
    } finally {
      s.destroy();
      engine.destroy();
    }
  });
});

describe("in_proj's rows past the split made by the RMSNorm before it (m2NormRows, rmsnorm_rows.wgsl)", () => {
  /** The norms of a chunk's plan: rmsnorm_rows (its grid is one workgroup a token either way). */
  const norms = (engine: GpuMambaModel) =>
    engine.dispatchPlan!['body']!.filter((d) => /^layer\d+\.norm$/.test(d.label));

  it('m2-tiny-a, f32, split at 288 (8 rows of dt): one GEMM a layer of 5 tiles, the rows from the norm; logits and greedy as transformers', async () => {
    const f = loadMamba2Fixture('m2-tiny-a');
    const c = f.weights.config;
    const at = 288;
    expect(c.inProjSize - at).toBe(8);
    const engine = await open(dev, f.weights, { m2InProjSplitAt: at, m2NormRows: true });
    try {
      expectInProjDispatches(engine, c.numLayers, 40, 1, 1);
      const grids = gemmsAt(engine.dispatchPlan!['body']!, 'layer0.in_proj', 40).map((g) => g.grid[0]);
      expect(grids).toEqual([at / 64 + 0.5].map(Math.ceil));
      expect(norms(engine)).toHaveLength(c.numLayers);
      await expectTransformers(engine, f, ['long', 'a']);
    } finally {
      engine.destroy();
    }
  });

  it('m2-tiny-b (in_proj biases), f32 and f16 (packed), split at 160: as the same split made by a GEMM', async () => {
    const f = loadMamba2Fixture('m2-tiny-b');
    const tokens = f.expected.int32('long.tokens');
    for (const dtype of ['f32', 'f16'] as const) {
      const logits: Float32Array[] = [];
      for (const m2NormRows of [true, false]) {
        const engine = await open(dev, f.weights, { dtype, m2InProjSplitAt: 160, m2NormRows });
        try {
          const gemms = gemmsAt(engine.dispatchPlan!['body']!, 'layer0.in_proj', tokens.length);
          expect(gemms, `${dtype} ${m2NormRows}`).toHaveLength(m2NormRows ? 1 : 2);
          await withScope(dev.device, async () => {
            logits.push((await engine.prefill(engine.createState(), tokens, { logits: 'all' }))!);
          });
        } finally {
          engine.destroy();
        }
      }
      expect(relMaxDiff(logits[0]!, logits[1]!), dtype).toBeLessThan(1e-5);
      if (dtype === 'f32')
        expect(relMaxDiff(logits[0]!, f.expected.float32('long.logits'))).toBeLessThan(1e-3);
    }
  });

  it('a random d_model 128 model, f32, split at 528 (24 rows), 150 tokens then 3: the float64 logits', async () => {
    const w = randomModel();
    const at = w.config.inProjSize - 24;
    const engine = await open(dev, w, { chunkSize: 160, m2InProjSplitAt: at, m2NormRows: true });
    const s = engine.createState();
    try {
      expectInProjDispatches(engine, w.config.numLayers, 150, 1, 1);
      await withScope(dev.device, async () => {
        let prev: ReturnType<typeof mamba2Forward>['state'] | undefined;
        for (const part of [tokensOf(150, w.config.vocabSize), [5, 299, 0]]) {
          const ref = mamba2Forward(w, part, prev);
          const got = (await engine.prefill(s, part, { logits: 'all' }))!;
          expect(relMaxDiff(got, ref.logits)).toBeLessThan(1e-3);
          prev = ref.state;
        }
      });
    } finally {
      s.destroy();
      engine.destroy();
    }
  });

  it('a random d_model 264 model (33 octs: 8 invocations a row walk four octs a step, then the rest), 25 rows: the float64 logits', async () => {
    const config = parseMamba2Config({
      model_type: 'mamba2',
      vocab_size: 200,
      hidden_size: 264,
      num_hidden_layers: 1,
      num_heads: 33,
      head_dim: 16,
      n_groups: 1,
      state_size: 16,
    });
    const shapes = tensorShapesOf(config);
    const w = mamba2WeightsFromSource(config, {
      has: (n) => shapes.has(n),
      shape: (n) => shapes.get(n)!,
      float32: (n) => hostTensor(config, n, 3),
    });
    // 1,121 rows; row 1,096 is 1,096 · 264 · 4 bytes in, a multiple of 256 (a block can be bound there).
    const at = 1096;
    expect(config.inProjSize - at).toBe(25);
    const engine = await open(dev, w, { m2InProjSplitAt: at, m2NormRows: true });
    try {
      expectInProjDispatches(engine, 1, 40, 1, 1);
      const tokens = tokensOf(40, config.vocabSize);
      await withScope(dev.device, async () => {
        const got = (await engine.prefill(engine.createState(), tokens, { logits: 'all' }))!;
        expect(relMaxDiff(got, mamba2Forward(w, tokens).logits)).toBeLessThan(1e-3);
      });
    } finally {
      engine.destroy();
    }
  });

  it('is refused where it cannot be made, and off by default below d_inner 4,096', async () => {
    const f = loadMamba2Fixture('m2-tiny-a');
    await expect(open(dev, f.weights, { m2InProjSplitAt: 200, m2NormRows: true })).rejects.toThrow(
      /at most 32 rows past the split \(96 here\)/,
    );
    await expect(open(dev, f.weights, { m2InProjSplit: false, m2NormRows: true })).rejects.toThrow(
      /needs in_proj split/,
    );
    await expect(
      open(dev, f.weights, { variant: 'software', m2InProjSplitAt: 288, m2NormRows: true }),
    ).rejects.toThrow(/needs the hardware variant/);
    const engine = await open(dev, f.weights, { m2InProjSplitAt: 288 });
    try {
      expect(gemmsAt(engine.dispatchPlan!['body']!, 'layer0.in_proj', 40)).toHaveLength(2);
    } finally {
      engine.destroy();
    }
  });
});

/** The Mamba-2 weights as an f16 engine holds them: the big matrices rounded to f16, the rest f32. */
function asF16(w: Mamba2Weights): Mamba2Weights {
  const round = (a: Float32Array) => a.map((v) => f16ToF32(f32ToF16(v)));
  return {
    ...w,
    embedding: round(w.embedding),
    lmHead: w.lmHead && round(w.lmHead),
    layers: w.layers.map((l) => ({ ...l, inProj: round(l.inProj), outProj: round(l.outProj) })),
  };
}

describe("Mamba-2 prefill's in_proj in two GEMMs on emulated subgroup matrices", () => {
  let sm: EngineDevice;
  beforeAll(() => {
    sm = describedWithSubgroupMatrix(dev);
  });

  // tol: X rounded to f16 at each GEMM's input costs about 1e-3 here (a wrong index O(1)); the _x2 variant
  // (X as hi + lo halves) keeps the f32 GEMM's accuracy.
  const CHOICES: { c: SgmmChoice; what: string; rest: string; cvt: string; tol: number }[] = [
    {
      c: { kernel: 'gemm_sgmm_ds_db', SGM: 1, SGN: 1, TI: 1, TJ: 2, BK: 16 },
      what: 'W staged: both blocks on it, X converted to f16 once for both',
      rest: 'layer0.in_proj.gemm_sgmm_ds_db',
      cvt: 'to_f16',
      tol: 1e-2,
    },
    {
      c: { kernel: 'gemm_sgmm_ds_db_x2', SGM: 1, SGN: 1, TI: 1, TJ: 2, BK: 16 },
      what: 'X as hi + lo halves, converted once for both blocks',
      rest: 'layer0.in_proj.gemm_sgmm_ds_db_x2',
      cvt: 'to_f16_x2',
      tol: 1e-4,
    },
    {
      c: { kernel: 'gemm_sgmm_dd', SGM: 1, SGN: 1, TI: 1, TJ: 1, BK: 32 },
      what: 'W straight: the 40-row rest on gemm_tiled',
      rest: 'layer0.in_proj.gemm64',
      cvt: 'to_f16',
      tol: 1e-2,
    },
  ];
  for (const { c, what, rest, cvt, tol } of CHOICES) {
    it(`${c.kernel} (${what}) matches the float64 reference`, async () => {
      const restore = emulateGemmSgmm(c.kernel);
      const w = randomModel();
      const tokens = tokensOf(70, w.config.vocabSize);
      try {
        await withScope(dev.device, async () => {
          const engine = await open(sm, w, { dtype: 'f16', subgroupMatrix: true, sgmm: c, chunkSize: 40 });
          try {
            expect(engine.prefillGemmKernel).toBe(c.kernel);
            const body = engine.dispatchPlan!['body']!;
            const gemms = gemmsAt(body, 'layer0.in_proj', 40).map((g) => g.label);
            expect(gemms).toEqual([`layer0.in_proj.${c.kernel}`, rest]);
            // Every variant reads X as f16: one conversion serves every block.
            expect(body.filter((d) => d.label === `layer0.in_proj.${cvt}`)).toHaveLength(1);
            const got = (await engine.prefill(engine.createState(), tokens, { logits: 'all' }))!;
            expect(relMaxDiff(got, mamba2Forward(asF16(w), tokens).logits)).toBeLessThan(tol);
          } finally {
            engine.destroy();
          }
        });
      } finally {
        restore();
      }
    });
  }
});
