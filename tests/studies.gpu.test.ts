/**
 * The four studies on the bundled model, on the real adapter (SwiftShader here), in small configurations:
 * row shapes and totals, determinism for a seed, cancellation keeping finished rows, and checks against
 * values computed here without the studies code (the engine run directly, or an identity that must hold
 * exactly: at K = 1 every chunked method is the full context; a soup of one state is that state), and the
 * batched answers (continueMany) against one generate() per query, on the bundled Mamba-1 and Mamba-2.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openModelDir, type OpenedModel } from '../src/cli/model-dir.ts';
import { studyModelOf, taskSuiteFor } from '../src/cli/study-model.ts';
import { continueOneByOne } from '../src/engine/batchRun.ts';
import { bundledModelDir } from '../src/model/node.ts';
import {
  runChunked,
  runIcl,
  runRetrieval,
  runSwitch,
  suiteTasks,
  type StudyModel,
  type StudyProgress,
} from '../src/studies/index.ts';

const DIR = bundledModelDir(join(process.cwd(), 'public/models'));
let opened: OpenedModel;
let model: StudyModel;
const tasks = (names: string[]) => {
  const { suite, label } = taskSuiteFor(DIR);
  return suiteTasks(suite, names, label);
};
const TEXT =
  'In the beginning God created the heaven and the earth. And the earth was without form, and void; and ' +
  'darkness was upon the face of the deep. And the Spirit of God moved upon the face of the waters. And God ' +
  'said, Let there be light: and there was light. And God saw the light, that it was good: and God divided ' +
  'the light from the darkness.';

beforeAll(async () => {
  opened = await openModelDir(DIR, 'f32');
  model = studyModelOf(opened);
});
afterAll(() => opened?.engine.destroy());

describe('icl', () => {
  it('counts every method over the queries, the same for the same seed, with progress', async () => {
    const progress: StudyProgress[] = [];
    const settings = {
      tasks: tasks(['uppercase']),
      shots: [2],
      states: 2,
      queries: 3,
      seed: 1,
      details: true,
    };
    const r = await runIcl(model, settings, { onProgress: (p) => progress.push(p) });
    expect(r.run.complete).toBe(true);
    expect(r.rows.map((x) => `${x.shots} ${x.method}`)).toEqual([
      '0 zero',
      '2 single',
      '2 concat',
      '2 soup-mean',
      '2 soup-adecay',
    ]);
    for (const row of r.rows) {
      expect(row.total).toBe(3);
      expect(row.accuracy).toBe(row.correct / 3);
      expect(row.lo).toBeLessThanOrEqual(row.accuracy);
      expect(row.hi).toBeGreaterThanOrEqual(row.accuracy);
    }
    // The bundled model upper-cases from two examples (training/RESULTS.md): most concat answers are right.
    expect(r.rows.find((x) => x.method === 'concat')!.correct).toBeGreaterThanOrEqual(2);
    expect(r.details).toHaveLength(3 * 5);
    expect(progress.at(-1)).toMatchObject({ done: 6, total: 6 });
    expect(progress[0]!.etaMs).toBeGreaterThan(0);
    expect(r.run).toMatchObject({ study: 'icl', seed: 1, paperModel: 'Mamba-2.8b' });
    expect(r.run.model.weightsHash).toMatch(/^w2-/);

    const again = await runIcl(model, settings);
    expect(again.rows).toEqual(r.rows);
    expect(again.details).toEqual(r.details);

    // A detail's answer, by the engine directly: read the single prompt, then generate from the query.
    const d = r.details!.find((x) => x.method === 'single')!;
    const tok = opened.tokenizer!;
    const s = opened.engine.createState();
    await opened.engine.prefill(s, tok.encode(d.prompts[0]!), { logits: 'none' });
    const ids = await opened.engine.generate(s, tok.encode(d.query), { maxNewTokens: 12 });
    s.destroy();
    expect(tok.decode(ids).split('\n')[0]).toBe(d.answer);
  });

  it('a soup of one state answers as the single state does', async () => {
    const r = await runIcl(model, {
      tasks: tasks(['antonym']),
      shots: [2],
      states: 1,
      queries: 3,
      seed: 4,
      details: true,
    });
    const answers = (m: string) => r.details!.filter((d) => d.method === m).map((d) => d.answer);
    expect(answers('soup-mean')).toEqual(answers('single'));
    expect(answers('soup-adecay')).toEqual(answers('single'));
  });

  it('keeps the finished rows when cancelled', async () => {
    const ac = new AbortController();
    const r = await runIcl(
      model,
      { tasks: tasks(['uppercase']), shots: [1, 2], states: 2, queries: 2, seed: 1 },
      { signal: ac.signal, onProgress: (p) => p.done === 3 && ac.abort() },
    );
    expect(r.run.complete).toBe(false);
    expect(r.rows.map((x) => `${x.shots} ${x.method}`)).toEqual(['0 zero']);
  });

  it('refuses too few held-out queries, naming the task', async () => {
    await expect(
      runIcl(model, { tasks: tasks(['antonym']), shots: [1], states: 1, queries: 1000, seed: 1 }),
    ).rejects.toThrow(/"antonym" has 100 held-out queries/);
  });
});

describe('chunked', () => {
  it('at K = 1 every method but zero is the full context, and scores match the engine', async () => {
    const r = await runChunked(model, {
      documents: [{ name: 'genesis', text: TEXT, source: 'test text' }],
      chunks: [1, 3],
      continuation: 24,
    });
    expect(r.documents).toBe(1);
    const at = (k: number, m: string) => r.rows.find((x) => x.chunks === k && x.method === m)!;
    for (const m of ['last', 'mean', 'adecay', 'order-avg']) expect(at(1, m).nll).toBe(at(1, 'full').nll);
    for (const row of r.rows) expect(row.tokens).toBe(23);
    expect(at(3, 'full').nll).toBe(at(1, 'full').nll);
    expect(at(3, 'zero').nll).toBe(at(1, 'zero').nll);
    expect(at(1, 'full').nll).toBeLessThan(at(1, 'zero').nll);
    expect(r.run.settings['orderAvg']).toEqual({
      1: { orders: 1, exact: true },
      3: { orders: 6, exact: true },
    });

    // The full context's NLL by the engine directly.
    const ids = opened.tokenizer!.encode(TEXT);
    const s = opened.engine.createState();
    await opened.engine.prefill(s, ids.slice(0, -24), { logits: 'none' });
    const score = await opened.engine.score(s, ids.slice(-24));
    s.destroy();
    expect(at(1, 'full').nll).toBeCloseTo(score.meanNll, 6);
  });

  it('names a document too short for its chunks', async () => {
    await expect(
      runChunked(model, {
        documents: [{ name: 'x', text: 'short', source: 'x.txt' }],
        chunks: [2],
        continuation: 8,
      }),
    ).rejects.toThrow(/x\.txt has \d+ tokens/);
    await expect(
      runChunked(model, {
        documents: [{ name: 'x', text: '  ', source: 'y.txt' }],
        chunks: [2],
        continuation: 8,
      }),
    ).rejects.toThrow(/y\.txt is empty/);
  });
});

describe('retrieval', () => {
  it('counts top-1 per layer and for all layers, and answers from three sources', async () => {
    const r = await runRetrieval(model, {
      tasks: tasks(['uppercase', 'antonym']),
      libraryShots: 4,
      queryShots: [1],
      queries: 2,
      seed: 1,
    });
    expect(r.rows).toHaveLength((8 + 1) * 2);
    expect(r.rows.every((x) => x.total === 4 && x.top1 >= 0 && x.top1 <= 4)).toBe(true);
    expect(r.rows.filter((x) => x.layer === 'all').map((x) => x.metric)).toEqual(['cosine', 'l2']);
    expect(r.answers.map((a) => a.source)).toEqual(['retrieved', 'zero', 'true']);
    expect(r.answers.every((a) => a.total === 4)).toBe(true);
    const mid = r.rows.find((x) => x.layer === 4 && x.metric === 'cosine')!;
    if (mid.top1 === mid.total) expect(r.answers[0]!.correct).toBe(r.answers[2]!.correct);
  });

  it('needs two tasks', async () => {
    await expect(
      runRetrieval(model, {
        tasks: tasks(['uppercase']),
        libraryShots: 2,
        queryShots: [1],
        queries: 1,
        seed: 1,
      }),
    ).rejects.toThrow(/at least two tasks/);
  });
});

describe('switch', () => {
  it('moves from task A at α = 0 to task B at α = 1', async () => {
    const r = await runSwitch(model, {
      tasks: tasks(['uppercase', 'plural']) as [never, never],
      alphas: [0, 1],
      queries: 4,
      seed: 1,
    });
    expect(r.rows.map((x) => x.alpha)).toEqual([0, 1]);
    for (const row of r.rows) {
      expect(row.total).toBe(4);
      expect(row.a + row.b + row.both + row.other).toBe(4);
    }
    expect(r.rows[0]!.a).toBeGreaterThanOrEqual(3);
    expect(r.rows[1]!.b).toBeGreaterThanOrEqual(3);
  });
});

/** `m` with continueMany replaced by the sequential path: generate() for each query. */
function oneByOneModel(m: StudyModel): StudyModel {
  const e = m.engine;
  const oneByOne = Object.create(e) as typeof e;
  oneByOne.continueMany = (state, queries, o) =>
    continueOneByOne(
      (s, p, oo) => e.generate(s, p, oo),
      state,
      queries.map((q) => Uint32Array.from(q)),
      o,
    );
  return { ...m, engine: oneByOne };
}

describe('batched answers', () => {
  it('the studies answer through continueMany exactly as with one generate() per query', async () => {
    const sequential = oneByOneModel(model);
    const icl = {
      tasks: tasks(['antonym']),
      shots: [2],
      states: 2,
      queries: 3,
      seed: 5,
      details: true,
    };
    const batched = await runIcl(model, icl);
    const single = await runIcl(sequential, icl);
    expect(batched.details).toEqual(single.details);
    expect(batched.rows).toEqual(single.rows);
    const sw = {
      tasks: tasks(['uppercase', 'plural']) as [never, never],
      alphas: [0, 0.5, 1],
      queries: 2,
      seed: 2,
    };
    expect((await runSwitch(model, sw)).rows).toEqual((await runSwitch(sequential, sw)).rows);
  }, 600_000);

  it('on the bundled Mamba-2 too (its batched plan, mamba2/batch.ts), answer for answer', async () => {
    // batched: the default, said so that a change of default cannot turn this into a one-by-one run.
    const m2 = await openModelDir(join(process.cwd(), 'public/models/soup-mamba2-4.5m'), 'f32', {
      batched: true,
    });
    try {
      const m2Model = studyModelOf(m2);
      expect(m2.engine.batchCapacity).toBeGreaterThan(1);
      const icl = {
        tasks: tasks(['antonym', 'uppercase']),
        shots: [2],
        states: 2,
        queries: 3,
        seed: 7,
        details: true,
      };
      const batched = await runIcl(m2Model, icl);
      const single = await runIcl(oneByOneModel(m2Model), icl);
      expect(batched.details).toEqual(single.details);
      expect(batched.rows).toEqual(single.rows);
    } finally {
      m2.engine.destroy();
    }
  }, 600_000);
});
