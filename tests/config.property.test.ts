/**
 * Property tests of the config.json parser (untrusted input: any repository's config). Every input ends in a
 * ModelFormatError naming the field, or in a config whose sizes are positive safe integers and whose epsilon
 * is a positive finite number; never a TypeError or a config that makes later size arithmetic meaningless.
 * Inputs: any JSON value, JSON text with number literals JSON.parse turns into Infinity, and the tiny-a
 * fixture's config with fields replaced by odd values or removed.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseMambaConfig, type MambaConfig } from '../src/model/config.ts';
import { ModelFormatError } from '../src/model/errors.ts';
import { FIXTURES_DIR } from './helpers/fixtures.ts';

const base = JSON.parse(readFileSync(join(FIXTURES_DIR, 'tiny-a', 'config.json'), 'utf8')) as Record<
  string,
  unknown
>;

function parsedOrRefused(raw: unknown): MambaConfig | undefined {
  try {
    return parseMambaConfig(raw);
  } catch (e) {
    if (e instanceof ModelFormatError) return undefined;
    throw e;
  }
}

function problems(c: MambaConfig): string[] {
  const out: string[] = [];
  const sizes = {
    vocabSize: c.vocabSize,
    hiddenSize: c.hiddenSize,
    numLayers: c.numLayers,
    stateSize: c.stateSize,
    convKernel: c.convKernel,
    intermediateSize: c.intermediateSize,
    timeStepRank: c.timeStepRank,
  };
  for (const [k, v] of Object.entries(sizes)) if (!(Number.isSafeInteger(v) && v > 0)) out.push(`${k} ${v}`);
  if (!(Number.isFinite(c.layerNormEpsilon) && c.layerNormEpsilon > 0)) out.push(`eps ${c.layerNormEpsilon}`);
  for (const k of ['useConvBias', 'useBias', 'tieWordEmbeddings'] as const)
    if (typeof c[k] !== 'boolean') out.push(k);
  for (const k of ['bosTokenId', 'eosTokenId'] as const)
    if (c[k] !== undefined && !Number.isSafeInteger(c[k])) out.push(`${k} ${c[k]}`);
  return out;
}

const FIELDS = [
  'model_type',
  'hidden_size',
  'intermediate_size',
  'expand',
  'num_hidden_layers',
  'vocab_size',
  'state_size',
  'conv_kernel',
  'time_step_rank',
  'layer_norm_epsilon',
  'hidden_act',
  'use_conv_bias',
  'use_bias',
  'tie_word_embeddings',
  'bos_token_id',
  'eos_token_id',
  '__proto__',
];

const oddValue = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(
    null,
    0,
    -1,
    0.5,
    1e-300,
    2 ** 53,
    2 ** 60,
    1e308,
    -0,
    '64',
    'auto',
    'mamba',
    'mamba2',
    true,
    [],
    {},
    [64],
  ),
);

describe('config.json: any value ends in a ModelFormatError or a sound config', () => {
  it('any JSON value', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 3 }), (raw) => {
        const c = parsedOrRefused(raw);
        if (c) expect(problems(c)).toEqual([]);
      }),
      { numRuns: 3000 },
    );
  });

  it('the fixture config with fields replaced or removed', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom(...FIELDS), fc.option(oddValue, { nil: undefined })), {
          minLength: 1,
          maxLength: 4,
        }),
        (edits) => {
          const raw: Record<string, unknown> = { ...base };
          for (const [k, v] of edits) {
            if (v === undefined) delete raw[k];
            else
              Object.defineProperty(raw, k, {
                value: v,
                enumerable: true,
                writable: true,
                configurable: true,
              });
          }
          // Through JSON text, as a config arrives: what JSON cannot say (undefined, -0) is what a file cannot.
          const c = parsedOrRefused(JSON.parse(JSON.stringify(raw)));
          if (c) expect(problems(c)).toEqual([]);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('number literals that JSON.parse turns into Infinity or 0 are refused where they matter', () => {
    for (const [field, literal] of [
      ['layer_norm_epsilon', '1e999'],
      ['layer_norm_epsilon', '1e-999'],
      ['hidden_size', '1e999'],
      ['vocab_size', '9007199254740993'],
    ] as const) {
      const text = JSON.stringify({ ...base, [field]: 0 }).replace(`"${field}":0`, `"${field}":${literal}`);
      expect(() => parseMambaConfig(JSON.parse(text)), `${field}: ${literal}`).toThrow(ModelFormatError);
    }
  });

  it('the fixture config itself parses to its sizes', () => {
    expect(parseMambaConfig(base)).toMatchObject({
      vocabSize: 300,
      hiddenSize: 64,
      numLayers: 2,
      stateSize: 16,
      convKernel: 4,
      intermediateSize: 128,
      timeStepRank: 4,
    });
  });
});
