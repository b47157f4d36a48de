/**
 * Mamba-2 config parsing (src/model/mamba2Config.ts): the fixture's config as transformers 5 writes it, the
 * Python spelling of Infinity, mamba_ssm's format and inconsistent configs refused with one line naming the
 * problem, the tensor table against the fixture's checkpoint, and a property: any JSON value ends in a
 * ModelFormatError or a config whose sizes agree with each other.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ModelFormatError } from '../src/model/errors.ts';
import {
  checkMamba2Tensors,
  mamba2TensorShapes,
  parseMamba2Config,
  parseMamba2ConfigText,
  pythonJsonToJson,
  type Mamba2Config,
} from '../src/model/mamba2Config.ts';
import { SafetensorsFile } from '../src/model/safetensors.ts';
import { FIXTURES_DIR } from './helpers/fixtures.ts';

const DIR = join(FIXTURES_DIR, 'm2-tiny-a');
const TEXT = readFileSync(join(DIR, 'config.json'), 'utf8');
const RAW = JSON.parse(TEXT) as Record<string, unknown>;

function refusal(raw: unknown): string {
  try {
    parseMamba2Config(raw);
  } catch (e) {
    expect(e).toBeInstanceOf(ModelFormatError);
    const message = (e as Error).message;
    expect(message).not.toContain('\n');
    return message;
  }
  throw new Error('the config was accepted');
}

describe('Mamba-2 config', () => {
  it('reads every Mamba-2 fixture and finds its checkpoint complete', () => {
    for (const name of ['m2-tiny-a', 'm2-tiny-b', 'm2-tiny-c']) {
      const dir = join(FIXTURES_DIR, name);
      const c = parseMamba2ConfigText(readFileSync(join(dir, 'config.json'), 'utf8'), `${name}/config.json`);
      const model = new SafetensorsFile(new Uint8Array(readFileSync(join(dir, 'model.safetensors'))));
      expect(new Set(mamba2TensorShapes(c).keys())).toEqual(new Set(model.names));
      checkMamba2Tensors(c, (n) => (model.has(n) ? model.info(n).shape : undefined), name);
    }
    const b = parseMamba2ConfigText(readFileSync(join(FIXTURES_DIR, 'm2-tiny-b', 'config.json'), 'utf8'));
    expect(b).toMatchObject({
      nGroups: 2,
      convKernel: 3,
      useBias: true,
      useConvBias: false,
      tieWordEmbeddings: false,
    });
    expect(b.timeStepLimit).toEqual([0.02, 0.6]);
  });

  it('reads the fixture as transformers 5.17 wrote it', () => {
    const c = parseMamba2ConfigText(TEXT);
    expect(c).toMatchObject({
      vocabSize: 300,
      hiddenSize: 64,
      numLayers: 2,
      numHeads: 8,
      headDim: 16,
      nGroups: 1,
      stateSize: 16,
      intermediateSize: 128,
      convDim: 160,
      inProjSize: 296,
      convKernel: 4,
      chunkSize: 16,
      useConvBias: true,
      useBias: false,
      rmsNorm: true,
      layerNormEpsilon: 1e-5,
      residualInFp32: true,
      tieWordEmbeddings: true,
      timeStepLimit: [0, Infinity],
      bosTokenId: 0,
      eosTokenId: 2,
    });
  });

  it('reads time_step_limit as Python writes it (bare Infinity) and as transformers 5 does', () => {
    const python = TEXT.replace(/\[\s*0\.0,\s*\{\s*"__float__":\s*"Infinity"\s*\}\s*\]/, '[0.0, Infinity]');
    expect(python).toContain('[0.0, Infinity]');
    expect(parseMamba2ConfigText(python).timeStepLimit).toEqual([0, Infinity]);
    expect(parseMamba2Config({ ...RAW, time_step_limit: [0.001, 0.1] }).timeStepLimit).toEqual([0.001, 0.1]);
    expect(parseMamba2Config({ ...RAW, time_step_limit: undefined }).timeStepLimit).toEqual([0, Infinity]);
  });

  it('rewrites bare Infinity and NaN only outside strings', () => {
    expect(pythonJsonToJson('{"a": "Infinity NaN", "b": [-Infinity, NaN]}')).toBe(
      '{"a": "Infinity NaN", "b": [{"__float__": "-Infinity"}, {"__float__": "NaN"}]}',
    );
    expect(pythonJsonToJson('{"a\\"Infinity": 1}')).toBe('{"a\\"Infinity": 1}');
  });

  it("refuses mamba_ssm's own format, naming the format expected", () => {
    const m = refusal({ d_model: 768, n_layer: 24, ssm_cfg: { layer: 'Mamba2' }, vocab_size: 50277 });
    expect(m).toContain("mamba_ssm's own format");
    expect(m).toContain('model_type "mamba2"');
  });

  it('refuses other families and inconsistent or foreign configs with one line naming the problem', () => {
    expect(refusal({ ...RAW, model_type: 'mamba' })).toContain('a Mamba-1 model');
    expect(refusal({ ...RAW, model_type: 'llama' })).toContain('not "mamba2"');
    expect(refusal([RAW])).toContain('not a JSON object');
    expect(refusal({ ...RAW, num_heads: 6 })).toBe(
      'config.json: num_heads × head_dim = 6 × 16 = 96 must equal expand × hidden_size = 2 × 64 = 128.',
    );
    expect(refusal({ ...RAW, n_groups: 3 })).toBe('config.json: n_groups (3) must divide num_heads (8).');
    expect(refusal({ ...RAW, head_dim: undefined })).toContain('"head_dim" must be a positive integer');
    expect(refusal({ ...RAW, expand: 1.01 })).toContain('"expand"');
    expect(refusal({ ...RAW, hidden_act: 'gelu' })).toContain('hidden_act "gelu"');
    expect(refusal({ ...RAW, use_bias: 'no' })).toContain('"use_bias" must be true or false');
    expect(refusal({ ...RAW, layer_norm_epsilon: 0 })).toContain('layer_norm_epsilon');
    for (const limit of [[0.1], [0.2, 0.1], [-1, 1], [{ __float__: 'Infinity' }, 1], 'inf'])
      expect(refusal({ ...RAW, time_step_limit: limit })).toContain('"time_step_limit"');
  });

  it("lists the fixture checkpoint's tensors with their shapes, and names a missing or misshapen one", () => {
    const config = parseMamba2ConfigText(TEXT);
    const model = new SafetensorsFile(new Uint8Array(readFileSync(join(DIR, 'model.safetensors'))));
    const shapeOf = (n: string) => (model.has(n) ? model.info(n).shape : undefined);
    const want = mamba2TensorShapes(config);
    expect(new Set(want.keys())).toEqual(new Set(model.names));
    expect(() => checkMamba2Tensors(config, shapeOf)).not.toThrow();
    expect(() => checkMamba2Tensors({ ...config, tieWordEmbeddings: false }, shapeOf)).toThrow(
      /no tensor lm_head.weight .*tie_word_embeddings/,
    );
    expect(() =>
      checkMamba2Tensors({ ...config, stateSize: 8, convDim: 144, inProjSize: 280 }, shapeOf),
    ).toThrow(
      'the checkpoint: backbone.layers.0.mixer.in_proj.weight has shape [296, 64], but config.json implies [280, 64].',
    );
  });
});

/** The invariants every accepted config satisfies. */
function consistent(c: Mamba2Config): boolean {
  return (
    c.numHeads * c.headDim === c.intermediateSize &&
    c.intermediateSize === c.expand * c.hiddenSize &&
    c.numHeads % c.nGroups === 0 &&
    c.convDim === c.intermediateSize + 2 * c.nGroups * c.stateSize &&
    c.inProjSize === c.intermediateSize + c.convDim + c.numHeads &&
    [c.vocabSize, c.numLayers, c.stateSize, c.convKernel, c.chunkSize].every(
      (v) => Number.isInteger(v) && v > 0,
    ) &&
    c.layerNormEpsilon > 0 &&
    c.timeStepLimit[0] >= 0 &&
    c.timeStepLimit[0] <= c.timeStepLimit[1]
  );
}

function outcome(raw: unknown): 'refused' | 'accepted' {
  try {
    const c = parseMamba2Config(raw);
    if (!consistent(c)) throw new Error(`inconsistent config accepted: ${JSON.stringify(c)}`);
    return 'accepted';
  } catch (e) {
    if (e instanceof ModelFormatError) return 'refused';
    throw e;
  }
}

describe('Mamba-2 config, property', () => {
  it('any JSON value ends in a ModelFormatError or a consistent config', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => void outcome(v)),
      { numRuns: 500 },
    );
  });

  it('so does the fixture config with any field replaced by any JSON value', () => {
    const keys = Object.keys(RAW);
    const seen = new Set<string>();
    fc.assert(
      fc.property(
        fc.dictionary(fc.constantFrom(...keys), fc.oneof(fc.jsonValue(), fc.integer({ min: 1, max: 256 }))),
        (patch) => void seen.add(outcome({ ...RAW, ...patch })),
      ),
      { numRuns: 500 },
    );
    // Both outcomes happen: the generator reaches past the first checks.
    expect(seen).toEqual(new Set(['refused', 'accepted']));
  });
});
