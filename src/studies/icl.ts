/**
 * Study 1, ICL mixing (PAPER.md experiment 2): for each task and shot count k, on held-out queries, greedy
 * exact match of the answer's first line when the query is continued from
 *  - single: the state of one k-example prompt;
 *  - concat: the state of one prompt holding all M·k examples;
 *  - soup-mean: the mean of the M states of M disjoint k-example prompts;
 *  - soup-adecay: the same M states composed in order with A-decay;
 *  - zero: the zero state (no examples; one row per task, shots 0).
 * For each query the M·k examples are drawn afresh (seeded by the run's seed, the task, k and the query's
 * index); `single` uses the first k of them, so all methods see the same examples.
 */
import { accuracyOf, type Accuracy } from './stats.ts';
import {
  checkCounts,
  DEFAULT_MAX_NEW_TOKENS,
  isAbort,
  StudyRunner,
  type StudyHooks,
  type StudyModel,
} from './context.ts';
import { mulberry32, sampleIndices, seedFor } from './random.ts';
import { finish, newRecord, type RunRecord } from './record.ts';
import { drawExamples, exampleText, queryText, StudyInputError, taskPools, type StudyTask } from './tasks.ts';
import type { MambaState } from '../engine/weights.ts';

export const ICL_METHODS = ['zero', 'single', 'concat', 'soup-mean', 'soup-adecay'] as const;
export type IclMethod = (typeof ICL_METHODS)[number];

export interface IclSettings {
  tasks: StudyTask[];
  shots: number[];
  /** M: states per soup. */
  states: number;
  queries: number;
  seed: number;
  maxNewTokens?: number;
  details?: boolean;
}

export interface IclRow extends Accuracy {
  task: string;
  shots: number;
  method: IclMethod;
}

export interface IclDetail {
  task: string;
  shots: number;
  method: IclMethod;
  /** The texts the states (or the one prompt) were made from, in composition order. */
  prompts: string[];
  query: string;
  expected: string;
  answer: string;
  correct: boolean;
}

export interface IclResult {
  rows: IclRow[];
  details?: IclDetail[];
  run: RunRecord;
}

export const ICL_DEFAULTS = { shots: [1, 2, 4], states: 4, queries: 50, seed: 1 };

function checkSettings(s: IclSettings): void {
  if (s.tasks.length === 0) throw new StudyInputError('Choose at least one task.');
  checkCounts(s.shots, 'Shots');
  checkCounts([s.states], 'States (M)');
  checkCounts([s.queries], 'Queries');
  if (!Number.isInteger(s.seed))
    throw new StudyInputError(`The seed must be a whole number (got ${s.seed}).`);
}

export async function runIcl(model: StudyModel, s: IclSettings, hooks: StudyHooks = {}): Promise<IclResult> {
  checkSettings(s);
  const maxNewTokens = s.maxNewTokens ?? DEFAULT_MAX_NEW_TOKENS;
  const M = s.states;
  const kMax = Math.max(...s.shots);
  // Every task's pools are checked before any work starts: a bad setting fails at once, not after an hour.
  const pools = s.tasks.map((t) => taskPools(t, s.queries, M * kMax, s.seed));
  const started = Date.now();
  let record = newRecord(
    'icl',
    model.info,
    s.seed,
    s.tasks.map((t) => ({ name: t.name, source: t.source })),
    {
      tasks: s.tasks.map((t) => t.name),
      shots: s.shots,
      states: M,
      queries: s.queries,
      maxNewTokens,
      methods: ICL_METHODS,
      examplesFrom: 'each query draws M·k fresh examples; single uses the first k',
      match: 'greedy, exact match of the first line',
      adecayConv: 'last chunk (the app default for A-decay)',
      meanParts: 'SSM, conv and Σ Δ (the app default for the mean)',
    },
  );
  const rows: IclRow[] = [];
  const details: IclDetail[] = [];
  const runner = new StudyRunner(model, s.tasks.length * s.queries * (1 + s.shots.length), hooks);
  let complete = true;
  try {
    runner.checkCancelled();
    for (const [ti, task] of s.tasks.entries()) {
      const { examples, queries: pool } = pools[ti]!;
      const sep = task.separator;
      const queries = sampleIndices(
        pool.length,
        s.queries,
        mulberry32(seedFor(s.seed, 'queries', task.name)),
      ).map((i) => pool[i]!);
      const zero = runner.zero();
      const pending: IclDetail[] = [];
      let correctZero = 0;
      // Every query from the zero state, batched in one call.
      const zeroAnswers = await runner.answerMany(
        queries.map((q) => [zero, queryText(q, sep)] as [MambaState, string]),
        maxNewTokens,
      );
      for (const [qi, q] of queries.entries()) {
        const answer = zeroAnswers[qi]!;
        correctZero += +(answer === q[1]);
        pending.push(detail(task.name, 0, 'zero', [], queryText(q, sep), q[1], answer));
        runner.step(`${task.name}, no examples, query ${qi + 1}`);
      }
      rows.push({ task: task.name, shots: 0, method: 'zero', ...accuracyOf(correctZero, queries.length) });
      details.push(...pending.splice(0));

      for (const k of s.shots) {
        const correct = { single: 0, concat: 0, 'soup-mean': 0, 'soup-adecay': 0 };
        for (const [qi, q] of queries.entries()) {
          const rng = mulberry32(seedFor(s.seed, 'examples', task.name, k, qi));
          const drawn = drawExamples(examples, M * k, rng, new Set([q[0]]), task.name);
          const groups = Array.from({ length: M }, (_, g) =>
            exampleText(drawn.slice(g * k, (g + 1) * k), sep),
          );
          const states: MambaState[] = [];
          for (const g of groups) states.push(await runner.capture(g));
          const concatText = groups.join('');
          const concat = M === 1 ? states[0]! : await runner.capture(concatText);
          const query = queryText(q, sep);
          const methods: [keyof typeof correct, MambaState, string[]][] = [
            ['single', states[0]!, [groups[0]!]],
            ['concat', concat, [concatText]],
            ['soup-mean', runner.mix(states, { mode: 'mean' }), groups],
            ['soup-adecay', runner.mix(states, { mode: 'adecay' }), groups],
          ];
          // The four methods' states answer the query in one batched call.
          const answers = await runner.answerMany(
            methods.map(([, state]) => [state, query] as [MambaState, string]),
            maxNewTokens,
          );
          for (const [mi, [method, , prompts]] of methods.entries()) {
            const answer = answers[mi]!;
            correct[method] += +(answer === q[1]);
            pending.push(detail(task.name, k, method, prompts, query, q[1], answer));
          }
          runner.step(`${task.name}, ${k} shots, query ${qi + 1}`);
        }
        for (const method of ['single', 'concat', 'soup-mean', 'soup-adecay'] as const) {
          rows.push({ task: task.name, shots: k, method, ...accuracyOf(correct[method], queries.length) });
        }
        details.push(...pending.splice(0));
      }
    }
  } catch (e) {
    if (!isAbort(e)) throw e;
    complete = false;
  }
  record = finish(record, started, complete);
  const result: IclResult = { rows, run: record };
  if (s.details) result.details = details;
  return result;
}

function detail(
  task: string,
  shots: number,
  method: IclMethod,
  prompts: string[],
  query: string,
  expected: string,
  answer: string,
): IclDetail {
  return { task, shots, method, prompts, query, expected, answer, correct: answer === expected };
}
