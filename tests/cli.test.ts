/**
 * The command line end to end, as a user runs it (`npm run -s soup -- ...` is `tsx src/cli/main.ts ...`), on
 * the real adapter Node finds (SwiftShader here): the fixtures' request/result protocol within 1e-3, greedy
 * continuations, and one-line errors for bad input.
 */
import { mkdtempSync, writeFileSync, readFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SafetensorsFile } from '../src/model/safetensors.ts';
import { FIXTURES_DIR, relMaxDiff } from './helpers/fixtures.ts';
import { expectFixtureTensors, readExpected, soupEval, soupGreedy } from './helpers/cli-fixtures.ts';
import { soup } from './helpers/soup.ts';

/** The request a fixture's expected.safetensors was made from (fixtures/README.md). */
function requestOf(expected: SafetensorsFile) {
  const note = JSON.parse(expected.metadata['note']!) as {
    sequences: string[];
    mix: { sources: string[]; weights: number[] };
  };
  const sequences: Record<string, number[]> = {};
  for (const s of note.sequences) sequences[s] = Array.from(expected.int32(`${s}.tokens`));
  const query = Array.from(expected.int32('mix.query_tokens'));
  return {
    sequences,
    mix: { sources: note.mix.sources, weights: note.mix.weights, query },
    adecay: { sources: note.mix.sources, query },
  };
}

describe('soup eval reproduces the transformers fixtures', () => {
  for (const name of ['tiny-a', 'tiny-b']) {
    it(`${name}: every tensor of expected.safetensors within 1e-3`, async () => {
      const dir = join(FIXTURES_DIR, name);
      const expected = readExpected(dir);
      const got = await soupEval(dir, requestOf(expected), 'soup-eval-');
      expect(expectFixtureTensors(got, expected).length).toBeGreaterThan(10);
    });

    it(`${name}: generate --greedy --json gives transformers' greedy continuation`, async () => {
      const dir = join(FIXTURES_DIR, name);
      const expected = readExpected(dir);
      const seq = expected.names.find((n) => n.endsWith('.greedy'))!.slice(0, -'.greedy'.length);
      const got = await soupGreedy(dir, expected.int32(`${seq}.tokens`), 24);
      expect(got).toEqual(Array.from(expected.int32(`${seq}.greedy`)));
    });
  }
});

describe('soup reports bad input in one line', () => {
  it('a missing model folder', async () => {
    const r = await soup(['generate', '--model', '/nonexistent/model', '--tokens', '1', '--json']);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/does not exist/);
  });

  it('bench: rows per decode workgroup out of 1 to 4', async () => {
    const r = await soup(['bench', '--model', 'random:mamba2-130m', '--decode-rows', '5']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--decode-rows must be 1, 2, 3 or 4 \(got 5\)/);
  });

  it('bench: fused-GEMV steps other than 1 or 4', async () => {
    const r = await soup(['bench', '--model', 'random:mamba2-130m', '--gemv-steps', '2']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--gemv-steps must be 1 or 4 \(got 2\)/);
  });

  it('bench: a gated-norm form other than loop, keep or fold, a conv form other than scalar or vec4, --m2-norm-rows other than on or off', async () => {
    const r = await soup(['bench', '--model', 'random:mamba2-130m', '--gated-norm', 'once']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--gated-norm must be loop, keep or fold \(got "once"\)/);
    const n = await soup(['bench', '--model', 'random:mamba2-130m', '--m2-norm-rows', 'maybe']);
    expect(n.code).toBe(2);
    expect(n.stderr).toMatch(/--m2-norm-rows must be on or off \(got "maybe"\)/);
    const c = await soup(['bench', '--model', 'random:mamba2-130m', '--m2-conv', 'wide']);
    expect(c.code).toBe(2);
    expect(c.stderr).toMatch(/--m2-conv must be scalar or vec4 \(got "wide"\)/);
  });

  it('bench --batch-queries: the slots follow --batch-memory, and too little says so', async () => {
    // The bundled Mamba-2's states take 1.1 MB: 1 MiB holds none, so continueMany would run one by one.
    const model = 'public/models/soup-mamba2-4.5m';
    const none = await soup(['bench', '--batch-queries', '--model', model, '--batch-memory', '1']);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/has no batch capacity .* A larger --batch-memory \(MiB; default 256\)/);
    // 4 MiB hold 3 states, so a batch of 4 is refused with the slots named.
    const few = await soup([
      'bench',
      '--batch-queries',
      '--model',
      model,
      '--batch-memory',
      '4',
      '--batch',
      '4',
    ]);
    expect(few.code).toBe(2);
    expect(few.stderr).toMatch(/--batch 4 is above this engine's 3 slots/);
    const bad = await soup(['study', 'icl', '--model', model, '--tasks', 'x', '--batch-memory', '0']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--batch-memory must be a number of MiB above 0 \(got 0\)/);
  });

  it('a config that is not Mamba', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'soup-bad-'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ model_type: 'gpt2', vocab_size: 10 }));
    const r = await soup(['generate', '--model', dir, '--tokens', '1']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/not a Mamba model/);
  });

  it('a corrupt safetensors file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'soup-bad-'));
    copyFileSync(join(FIXTURES_DIR, 'tiny-a/config.json'), join(dir, 'config.json'));
    const good = readFileSync(join(FIXTURES_DIR, 'tiny-a/model.safetensors'));
    writeFileSync(join(dir, 'model.safetensors'), good.subarray(0, good.length - 1000));
    const r = await soup(['generate', '--model', dir, '--tokens', '1']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/truncated/);
  });

  it('an unknown option and a token beyond the vocabulary', async () => {
    const dir = join(FIXTURES_DIR, 'tiny-a');
    const r1 = await soup(['generate', '--model', dir, '--tokens', '1', '--frobnicate']);
    expect(r1.code).toBe(2);
    expect(r1.stderr).toMatch(/Unknown option --frobnicate/);
    const r2 = await soup(['generate', '--model', dir, '--tokens', '1,99999']);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toMatch(/beyond the vocabulary/);
  });
});

describe('soup --dtype', () => {
  it('int8 loads the model quantised: logits move more than f16 rounding moves them, and stay close', async () => {
    const dir = join(FIXTURES_DIR, 'tiny-b');
    const expected = new SafetensorsFile(new Uint8Array(readFileSync(join(dir, 'expected.safetensors'))));
    const work = mkdtempSync(join(tmpdir(), 'soup-int8-'));
    writeFileSync(join(work, 'req.json'), JSON.stringify(requestOf(expected)));
    const out = join(work, 'out.safetensors');
    const r = await soup([
      'eval',
      '--model',
      dir,
      '--request',
      join(work, 'req.json'),
      '--out',
      out,
      '--dtype',
      'int8',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const got = new SafetensorsFile(new Uint8Array(readFileSync(out)));
    const seq = JSON.parse(expected.metadata['note']!).sequences[0] as string;
    // f16 weights stay within 7e-4 of these logits (tests/engine.int8.test.ts prints both); int8 about 2e-2.
    const d = relMaxDiff(got.float32(`${seq}.logits`), expected.float32(`${seq}.logits`));
    expect(d).toBeGreaterThan(2e-3);
    expect(d).toBeLessThan(5e-2);
  });

  it('an unknown precision is refused with the choices', async () => {
    const r = await soup([
      'generate',
      '--model',
      join(FIXTURES_DIR, 'tiny-a'),
      '--tokens',
      '1',
      '--dtype',
      'int4',
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/--dtype must be f32, f16 or int8 \(got "int4"\)/);
  });
});

describe('soup tokenize', () => {
  it('gives the reference ids of every fixture string', async () => {
    const dir = join(FIXTURES_DIR, 'gpt-neox-tokenizer');
    const cases = (
      JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as {
        cases: { text: string; ids: number[] }[];
      }
    ).cases;
    for (const c of cases.slice(0, 4)) {
      const r = await soup(['tokenize', '--model', dir, '--text', c.text, '--json']);
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual({ ids: c.ids });
    }
  });
});

describe('soup generate on the bundled default model', () => {
  const manifest = JSON.parse(readFileSync('public/models/manifest.json', 'utf8')) as { default: string };
  const dir = join('public/models', manifest.default);
  const prompt = 'hot->cold\nbig->small\nlight->';

  it('--prompt equals --tokens of the tokenizer ids, and text is the decoded tokens', async () => {
    const ids = JSON.parse((await soup(['tokenize', '--model', dir, '--text', prompt, '--json'])).stdout) as {
      ids: number[];
    };
    const byText = await soup([
      'generate',
      '--model',
      dir,
      '--prompt',
      prompt,
      '--max-new-tokens',
      '8',
      '--greedy',
      '--json',
    ]);
    const byIds = await soup([
      'generate',
      '--model',
      dir,
      '--tokens',
      ids.ids.join(','),
      '--max-new-tokens',
      '8',
      '--greedy',
      '--json',
    ]);
    expect(byText.code).toBe(0);
    const a = JSON.parse(byText.stdout) as { tokens: number[]; text: string };
    const b = JSON.parse(byIds.stdout) as { tokens: number[]; text: string };
    expect(a.tokens).toHaveLength(8);
    expect(a).toEqual(b);
    expect(a.text.length).toBeGreaterThan(0);
  });

  it('the same seed gives the same sample', async () => {
    const args = [
      'generate',
      '--model',
      dir,
      '--prompt',
      'The',
      '--max-new-tokens',
      '12',
      '--temperature',
      '1',
      '--seed',
      '11',
      '--json',
    ];
    const first = await soup(args);
    const second = await soup(args);
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout)).toEqual(JSON.parse(second.stdout));
  });
});
