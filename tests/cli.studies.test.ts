/**
 * The studies and states on the command line, as a user runs them, on the bundled model (f32, SwiftShader
 * here): a `study icl --details` run is reproduced answer for answer by `state capture` of each prompt and
 * `generate --state … --mode …` (the promise), `score` predicts length − 1 tokens with or without a
 * state, the study JSON shapes, and one-line messages for bad input.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importStateFile } from '../src/engine/states/stateFile.ts';
import { bundledModelDir } from '../src/model/node.ts';
import { soup } from './helpers/soup.ts';

const MODEL = bundledModelDir(join(process.cwd(), 'public/models'));
const work = mkdtempSync(join(tmpdir(), 'soup-studies-'));

async function json<T>(args: string[]): Promise<T> {
  const r = await soup(args);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as T;
}

const M = ['--model', MODEL, '--dtype', 'f32'];

interface Detail {
  method: string;
  prompts: string[];
  query: string;
  answer: string;
}

describe('study icl --details is reproduced by state capture + generate', () => {
  it('every method, answer for answer', async () => {
    const out = await json<{ rows: { method: string; total: number }[]; details: Detail[] }>([
      'study',
      'icl',
      ...M,
      '--tasks',
      'antonym',
      '--shots',
      '1',
      '--states',
      '2',
      '--queries',
      '1',
      '--seed',
      '3',
      '--json',
      '--details',
    ]);
    expect(out.rows.map((r) => r.method)).toEqual(['zero', 'single', 'concat', 'soup-mean', 'soup-adecay']);
    expect(out.details).toHaveLength(5);
    const files = new Map<string, string>();
    const fileOf = async (text: string) => {
      if (!files.has(text)) {
        const f = join(work, `s${files.size}.safetensors`);
        const r = await soup(['state', 'capture', ...M, '--text', text, '--out', f]);
        expect(r.stderr).toBe('');
        files.set(text, f);
      }
      return files.get(text)!;
    };
    const mode: Record<string, string[]> = {
      'soup-mean': ['--mode', 'mean'],
      'soup-adecay': ['--mode', 'adecay'],
    };
    for (const d of out.details) {
      const states: string[] = [];
      for (const p of d.prompts) states.push('--state', await fileOf(p));
      const g = await json<{ text: string }>([
        'generate',
        ...M,
        ...states,
        ...(mode[d.method] ?? []),
        '--prompt',
        d.query,
        '--max-new-tokens',
        '12',
        '--greedy',
        '--json',
      ]);
      expect(g.text.split('\n')[0], d.method).toBe(d.answer);
    }
  });
});

describe('state capture and score', () => {
  const text = 'hot->cold\nbig->small\nup->down\n';

  it('writes an app state file of the text and its tokens', async () => {
    const f = join(work, 'cap.safetensors');
    await soup(['state', 'capture', ...M, '--text', text, '--out', f, '--name', 'antonyms']);
    const ids = (await json<{ ids: number[] }>(['tokenize', '--model', MODEL, '--text', text, '--json'])).ids;
    const [s] = importStateFile(new Uint8Array(readFileSync(f)), f);
    expect(s!.meta.name).toBe('antonyms');
    expect(s!.meta.text).toBe(text);
    expect(s!.meta.tokenIds).toEqual(ids);
    expect(s!.meta.modelId).toBe('soup-mamba-4.6m');
    expect(s!.meta.weightsHash).toMatch(/^w2-/);
    expect(s!.state.layers).toHaveLength(8);
  });

  it('score predicts the text length − 1 tokens, with or without a state, and ppl = exp(nll)', async () => {
    const evalText = 'left->right\nfast->slow\n';
    const n = (await json<{ ids: number[] }>(['tokenize', '--model', MODEL, '--text', evalText, '--json']))
      .ids.length;
    const plain = await json<{ tokens: number; nll: number; ppl: number }>([
      'score',
      ...M,
      '--text',
      evalText,
      '--json',
    ]);
    expect(plain.tokens).toBe(n - 1);
    expect(plain.ppl).toBeCloseTo(Math.exp(plain.nll), 10);
    const f = join(work, 'cap.safetensors');
    const withState = await json<{ tokens: number; nll: number }>([
      'score',
      ...M,
      '--state',
      f,
      '--text',
      evalText,
      '--json',
    ]);
    expect(withState.tokens).toBe(n - 1);
    // Three antonym examples before the text make the antonyms in it likelier.
    expect(withState.nll).toBeLessThan(plain.nll);
  });

  it('bad mixing options and empty text get one line each', async () => {
    const f = join(work, 'cap.safetensors');
    const cases: [string[], RegExp][] = [
      [
        ['score', ...M, '--state', f, '--state', f, '--weights', '1', '--text', 'a b'],
        /--weights has 1 values for 2 states/,
      ],
      [['score', ...M, '--state', f, '--normalize', '--text', 'a b'], /--normalize applies to --weights/],
      [['score', ...M, '--state', f, '--mode', 'median', '--text', 'a b'], /--mode must be mean or adecay/],
      [['state', 'capture', ...M, '--text', '  ', '--out', join(work, 'x.safetensors')], /--text is empty/],
    ];
    for (const [args, message] of cases) {
      const r = await soup(args);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(message);
    }
  });
});

describe('study JSON and messages', () => {
  it('chunked and switch print the issue shapes', async () => {
    const doc = join(work, 'doc.txt');
    writeFileSync(
      doc,
      'And God said, Let there be light: and there was light. And God saw the light, that it was good: and God divided the light from the darkness. And God called the light Day, and the darkness he called Night.',
    );
    const c = await json<{ documents: number; rows: Record<string, unknown>[] }>([
      'study',
      'chunked',
      ...M,
      '--text-file',
      doc,
      '--chunks',
      '2',
      '--continuation',
      '16',
      '--json',
    ]);
    expect(c.documents).toBe(1);
    expect(c.rows.map((r) => r['method'])).toEqual(['zero', 'last', 'mean', 'adecay', 'order-avg', 'full']);
    expect(Object.keys(c.rows[0]!)).toEqual(['chunks', 'method', 'tokens', 'nll', 'ppl']);
    expect(c.rows.every((r) => r['tokens'] === 15)).toBe(true);

    const s = await json<{ rows: Record<string, unknown>[] }>([
      'study',
      'switch',
      ...M,
      '--tasks',
      'uppercase,plural',
      '--alphas',
      '0:1:2',
      '--queries',
      '1',
      '--json',
    ]);
    expect(s.rows.map((r) => r['alpha'])).toEqual([0, 1]);
    expect(Object.keys(s.rows[0]!)).toEqual(['alpha', 'a', 'b', 'both', 'other', 'total']);
  });

  it('a switch needs two tasks (a usage error, exit 2)', async () => {
    const r = await soup(['study', 'switch', ...M, '--tasks', 'uppercase']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--tasks must name two tasks/);
  });

  it('names the bad line, the unknown task and too few pairs', async () => {
    const bad = join(work, 'mine.txt');
    writeFileSync(bad, 'a->b\nno arrow here\n');
    const few = join(work, 'few.txt');
    writeFileSync(few, 'a->A\nb->B\nc->C\n');
    const cases: [string[], RegExp][] = [
      [['study', 'icl', ...M, '--tasks-file', bad], /mine\.txt, line 2: "no arrow here" has no "->"/],
      [['study', 'icl', ...M, '--tasks', 'antonm'], /Unknown task "antonm"/],
      [
        ['study', 'icl', ...M, '--tasks-file', few, '--shots', '1', '--states', '2', '--queries', '2'],
        /"few" .* has 3 pairs; 2 queries and 2 examples \(k·M\) need 4/,
      ],
      [['study', 'switch', ...M, '--tasks', 'uppercase,plural', '--alphas', '0:1'], /start:stop:count/],
    ];
    for (const [args, message] of cases) {
      const r = await soup(args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(message);
    }
  });
});
