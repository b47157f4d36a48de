/**
 * The loader goes by config.json's model_type: Mamba-2 checkpoints in transformers' format load through the
 * same streaming path as Mamba-1 (F32, F16, BF16, sharded, a folder on disk, a config written by Python with a
 * bare Infinity) with every tensor of the Mamba-2 table; inconsistent configs, mamba_ssm's own format, missing
 * and misshapen tensors are refused with one line naming the problem; the memory estimate counts Mamba-2's
 * tensors and per-head states.
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { loadModel, type LoadOptions } from '../src/model/loader.ts';
import { ModelFormatError } from '../src/model/errors.ts';
import { filesSource } from '../src/model/sources.ts';
import { loadModelFromDir } from '../src/model/node.ts';
import { f16ToF32, f32ToF16, SafetensorsFile } from '../src/model/safetensors.ts';
import { familyOf, isMamba2Config, type AnyMambaConfig } from '../src/model/family.ts';
import { estimateMemory, countParameters } from '../src/model/memory.ts';
import { parseMamba2Config } from '../src/model/mamba2Config.ts';
import { FIXTURES_DIR } from './helpers/fixtures.ts';
import { RecordingSink } from './helpers/loading.ts';
import { asDtype, broken, fixtureFiles, sharded, withConfig, type Files } from './helpers/model-variants.ts';

const A = fixtureFiles('m2-tiny-a');
const B = fixtureFiles('m2-tiny-b');

async function attempt(files: Files, extra: Partial<LoadOptions<RecordingSink>> = {}) {
  const made: RecordingSink[] = [];
  const files_ = Object.entries(files).map(([n, b]) => new File([new Uint8Array(b)], n));
  try {
    const loaded = await loadModel(filesSource(files_, 'my-model'), {
      tokenizer: false,
      createSink: (config: AnyMambaConfig, precision: string) => {
        const s = new RecordingSink(config, precision);
        made.push(s);
        return s;
      },
      ...extra,
    });
    return { loaded, error: undefined, made };
  } catch (error) {
    for (const s of made) expect(s.destroyed).toBe(true);
    return { loaded: undefined, error, made };
  }
}

async function refusal(files: Files): Promise<string> {
  const { error } = await attempt(files);
  expect(error).toBeInstanceOf(ModelFormatError);
  return (error as Error).message;
}

const stored = (files: Files, file = 'model.safetensors') => new SafetensorsFile(files[file]!, file);

describe('Mamba-2 checkpoints load by model_type', () => {
  for (const [label, files, round] of [
    ['F32', A, (v: number) => v],
    ['F16', asDtype(A, 'F16'), (v: number) => f16ToF32(f32ToF16(v))],
    ['sharded BF16', sharded(B, 3, 'BF16'), undefined],
    ['sharded F32', sharded(B, 2), (v: number) => v],
  ] as const) {
    it(`${label}: every tensor of the Mamba-2 table arrives with the stored values`, async () => {
      const { loaded, error } = await attempt(files);
      expect(error).toBeUndefined();
      const config = loaded!.config;
      expect(familyOf(config)).toBe('mamba2');
      const src = files === A || label === 'F16' ? A : B;
      const want = stored(src);
      expect([...loaded!.sink.tensors.keys()].sort()).toEqual([...want.names].sort());
      if (round) {
        for (const n of want.names) {
          expect(loaded!.sink.tensors.get(n), n).toEqual(want.float32(n).map(round));
        }
      }
      expect(loaded!.sink.finalized).toBe(true);
    });
  }

  it('a folder on disk, with the checkpoint dtype reported', async () => {
    const made: RecordingSink[] = [];
    const loaded = await loadModelFromDir(join(FIXTURES_DIR, 'm2-tiny-c'), {
      tokenizer: false,
      createSink: (c: AnyMambaConfig, p: string) => {
        const s = new RecordingSink(c, p);
        made.push(s);
        return s;
      },
    });
    expect(isMamba2Config(loaded.config) && loaded.config.nGroups).toBe(4);
    expect(loaded.checkpointDtype).toBe('F32');
    expect(loaded.precision).toBe('f32');
  });

  it('time_step_limit written by Python as a bare Infinity', async () => {
    const text = new TextDecoder()
      .decode(A['config.json'])
      .replace(/\[\s*0\.0,\s*\{\s*"__float__":\s*"Infinity"\s*\}\s*\]/, '[0.0, Infinity]');
    expect(text).toContain('Infinity]');
    const { loaded, error } = await attempt({ ...A, 'config.json': new TextEncoder().encode(text) });
    expect(error).toBeUndefined();
    expect(isMamba2Config(loaded!.config) && loaded!.config.timeStepLimit).toEqual([0, Infinity]);
  });
});

describe('Mamba-2 refusals, one line each', () => {
  it('heads × head_dim ≠ expand × hidden', async () => {
    expect(await refusal(withConfig(A, { head_dim: 8 }))).toBe(
      'my-model/config.json: num_heads × head_dim = 8 × 8 = 64 must equal expand × hidden_size = 2 × 64 = 128.',
    );
  });

  it("mamba_ssm's own format", async () => {
    const files = {
      'config.json': new TextEncoder().encode(
        JSON.stringify({ d_model: 768, n_layer: 24, vocab_size: 50277, ssm_cfg: { layer: 'Mamba2' } }),
      ),
    };
    expect(await refusal(files)).toMatch(
      /^my-model\/config\.json is in mamba_ssm's own format \(d_model, ssm_cfg\)\. Mamba-2 checkpoints are read in transformers' format/,
    );
  });

  it('a missing tensor', async () => {
    expect(await refusal(broken(A, 'backbone.layers.1.mixer.dt_bias', 'missing'))).toBe(
      'my-model/model.safetensors is missing tensor "backbone.layers.1.mixer.dt_bias" that config.json requires.',
    );
  });

  it('a wrong shape', async () => {
    expect(await refusal(broken(A, 'backbone.layers.0.mixer.in_proj.weight', 'wrong-shape'))).toBe(
      'my-model/model.safetensors: tensor "backbone.layers.0.mixer.in_proj.weight" has shape [18944] but config.json implies [296, 64].',
    );
  });

  it('an untied config without lm_head.weight', async () => {
    expect(await refusal(withConfig(A, { tie_word_embeddings: false }))).toBe(
      'my-model/model.safetensors is missing tensor "lm_head.weight" that config.json requires (config.json says the embeddings are not tied).',
    );
  });
});

describe('Mamba-2 memory estimate', () => {
  it('parameters from the table; states per head', () => {
    const c = parseMamba2Config({
      model_type: 'mamba2',
      vocab_size: 50288,
      hidden_size: 768,
      num_hidden_layers: 24,
      num_heads: 24,
      head_dim: 64,
      n_groups: 1,
      state_size: 128,
      tie_word_embeddings: true,
    });
    // mamba2-130m: 50288·768 + 24 · (768 + 3352·768 + 1792·4 + 1792 + 3·24 + 1536 + 768·1536) + 768.
    const layer = 768 + 3352 * 768 + 1792 * 4 + 1792 + 3 * 24 + 1536 + 768 * 1536;
    expect(countParameters(c)).toBe(50288 * 768 + 24 * layer + 768);
    const e = estimateMemory(c, 'f16');
    const perLayer = 24 * 64 * 128 + 1792 * 3 + 24;
    expect(e.stateBytes).toBe(4 * 4 * 24 * perLayer);
    expect(e.weightBytes).toBe(2 * countParameters(c));
    expect(e.totalBytes).toBe(e.weightBytes + e.activationBytes + e.stateBytes);
  });
});
