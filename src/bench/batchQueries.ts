/**
 * Queries per second of many short continuations from one state (issue 14's batched prefill and decode):
 * k-shot ICL prompts built from a task suite (k examples of a task, then a held-out input and the separator),
 * each continued from the zero state for a fixed number of new tokens (no stop tokens, so every query costs
 * the same), three ways on the same engine:
 *  - `generate`: one generate() per query (the path studies and sweeps took before);
 *  - `batch1`: continueMany with one query per pass (the batched kernels without batching: their overhead);
 *  - `batchN`: continueMany with N queries per pass.
 * Each is timed `repeats` times after a warm-up run and reported as the median. The batched ids are compared
 * with generate()'s: equal in f32 on the fixtures (tests/engine.batch.test.ts); here, with random weights,
 * the count that agree is reported as measured.
 */
import type { MambaEngine } from '../engine/api.ts';
import { mulberry32, seedFor } from '../studies/random.ts';
import { drawExamples, exampleText, queryText, type TaskSuite } from '../studies/tasks.ts';
import { median, now } from './stats.ts';

export interface IclQuerySpec {
  queries: number;
  shots: number;
  seed: number;
}

/** `spec.queries` k-shot prompts, round-robin over the suite's tasks, as token ids. */
export function iclQueries(
  suite: TaskSuite,
  encode: (text: string) => number[],
  spec: IclQuerySpec,
): { text: string; ids: number[] }[] {
  const out: { text: string; ids: number[] }[] = [];
  for (let i = 0; i < spec.queries; i++) {
    const task = suite.tasks[i % suite.tasks.length]!;
    const rng = mulberry32(seedFor(spec.seed, 'bench-icl', task.name, i));
    const pair = task.heldout[Math.floor(rng() * task.heldout.length)]!;
    const shots = drawExamples(task.train, spec.shots, rng, new Set([pair[0]]), task.name);
    const text = exampleText(shots, suite.separator) + queryText(pair, suite.separator);
    out.push({ text, ids: encode(text) });
  }
  return out;
}

export interface BatchQueriesOptions {
  newTokens: number;
  batch: number;
  repeats: number;
  onProgress?: (message: string) => void;
}

export interface PathTiming {
  /** Median seconds for all the queries. */
  seconds: number;
  queriesPerSecond: number;
  /** New tokens per second over all queries. */
  tokensPerSecond: number;
  runs: number[];
}

export interface BatchQueriesResult {
  queries: number;
  meanQueryTokens: number;
  newTokens: number;
  batch: number;
  generate: PathTiming;
  batch1: PathTiming;
  batchN: PathTiming;
  /** batchN against generate, and against batch1. */
  speedup: number;
  speedupVsBatch1: number;
  /** Queries whose batched ids equal generate()'s. */
  idsAgree: number;
}

export async function runBatchQueries(
  engine: MambaEngine,
  queries: number[][],
  opts: BatchQueriesOptions,
): Promise<BatchQueriesResult> {
  const n = queries.length;
  const state = engine.createState();
  const say = opts.onProgress ?? (() => undefined);
  const time = async (what: string, fn: () => Promise<number[][]>) => {
    say(`${what}: warm-up`);
    let ids = await fn();
    const runs: number[] = [];
    for (let r = 0; r < opts.repeats; r++) {
      const t0 = now();
      ids = await fn();
      runs.push((now() - t0) / 1000);
      say(`${what}: ${(n / runs.at(-1)!).toFixed(2)} queries/s`);
    }
    const seconds = median(runs);
    const timing: PathTiming = {
      seconds,
      queriesPerSecond: n / seconds,
      tokensPerSecond: (n * opts.newTokens) / seconds,
      runs,
    };
    return { ids, timing };
  };
  try {
    const run = { maxNewTokens: opts.newTokens };
    const gen = await time('generate() per query', async () => {
      const out: number[][] = [];
      for (const q of queries) out.push(await engine.generate(state, q, run));
      return out;
    });
    const one = await time('continueMany, batch 1', () =>
      engine.continueMany(state, queries, { ...run, batchSize: 1 }),
    );
    const many = await time(`continueMany, batch ${opts.batch}`, () =>
      engine.continueMany(state, queries, { ...run, batchSize: opts.batch }),
    );
    const same = (a: number[], b: number[]) => a.length === b.length && a.every((x, i) => x === b[i]);
    return {
      queries: n,
      meanQueryTokens: queries.reduce((s, q) => s + q.length, 0) / n,
      newTokens: opts.newTokens,
      batch: opts.batch,
      generate: gen.timing,
      batch1: one.timing,
      batchN: many.timing,
      speedup: gen.timing.seconds / many.timing.seconds,
      speedupVsBatch1: one.timing.seconds / many.timing.seconds,
      idsAgree: many.ids.filter((x, i) => same(x, gen.ids[i]!)).length,
    };
  } finally {
    state.destroy();
  }
}

/** The result as a small table. */
export function formatBatchQueries(r: BatchQueriesResult, head: string): string {
  const row = (name: string, t: PathTiming) =>
    `${name.padEnd(28)} ${t.queriesPerSecond.toFixed(2).padStart(10)} ${t.tokensPerSecond.toFixed(1).padStart(12)} ${(t.seconds * 1000).toFixed(0).padStart(10)}`;
  return [
    head,
    `${r.queries} queries of ${r.meanQueryTokens.toFixed(1)} tokens on average, ${r.newTokens} new tokens each`,
    `${'path'.padEnd(28)} ${'queries/s'.padStart(10)} ${'new tok/s'.padStart(12)} ${'ms (all)'.padStart(10)}`,
    row('generate() per query', r.generate),
    row('continueMany, batch 1', r.batch1),
    row(`continueMany, batch ${r.batch}`, r.batchN),
    `batch ${r.batch}: ${r.speedup.toFixed(2)}x generate(), ${r.speedupVsBatch1.toFixed(2)}x batch 1; ids equal to generate()'s for ${r.idsAgree} of ${r.queries} queries`,
  ].join('\n');
}
