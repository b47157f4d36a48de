/**
 * Study 4, task switch (PAPER.md experiment 4): the states of a k-example prompt of task A and of task B,
 * mixed as (1 − α)·S_A + α·S_B (the playground's weighted mix of the whole state) over a grid of α, continue
 * `x->` for inputs x whose answers under both tasks are known and differ. Each answer is A's, B's, both
 * composed (A(B(x)) or B(A(x)), where known and different from both), or other.
 * Answers are known from the tasks' pairs, and for the suite's string rules (uppercase, lowercase,
 * capitalize, first_letter, spell) from the rule itself, so e.g. uppercase × plural can be asked of any noun.
 */
import type { MambaState } from '../engine/weights.ts';
import {
  checkCounts,
  DEFAULT_MAX_NEW_TOKENS,
  isAbort,
  StudyRunner,
  type StudyHooks,
  type StudyModel,
} from './context.ts';
import { mulberry32, seedFor, shuffled } from './random.ts';
import { finish, newRecord, type RunRecord } from './record.ts';
import {
  drawExamples,
  exampleText,
  queryText,
  StudyInputError,
  taskPools,
  type Pair,
  type StudyTask,
} from './tasks.ts';

export interface SwitchSettings {
  tasks: [StudyTask, StudyTask];
  alphas: number[];
  queries: number;
  seed: number;
  /** Examples in each task's prompt (default 2). */
  shots?: number;
  maxNewTokens?: number;
}

export interface SwitchRow {
  alpha: number;
  a: number;
  b: number;
  both: number;
  other: number;
  total: number;
}

export interface SwitchResult {
  rows: SwitchRow[];
  run: RunRecord;
}

export const SWITCH_DEFAULTS = { alphas: '0:1:21', queries: 50, seed: 1, shots: 2 };

/** The suite's tasks whose answer is a function of the input's letters. */
export const STRING_RULES: Record<string, (x: string) => string> = {
  uppercase: (x) => x.toUpperCase(),
  lowercase: (x) => x.toLowerCase(),
  capitalize: (x) => (x ? x[0]!.toUpperCase() + x.slice(1) : x),
  first_letter: (x) => x.slice(0, 1),
  spell: (x) => [...x].join(' '),
};

/** `start:stop:count`: count evenly spaced points from start to stop inclusive. */
export function parseAlphas(text: string): number[] {
  const parts = text.split(':');
  const [start, stop, count] = parts.map(Number);
  if (
    parts.length !== 3 ||
    ![start, stop, count].every(Number.isFinite) ||
    !Number.isInteger(count) ||
    count! < 1
  ) {
    throw new StudyInputError(`The α grid "${text}" is not start:stop:count (e.g. 0:1:21).`);
  }
  if (count === 1) return [start!];
  return Array.from({ length: count! }, (_, i) => start! + ((stop! - start!) * i) / (count! - 1));
}

export type SwitchClass = 'a' | 'b' | 'both' | 'other';

/** Answers of one task: from its pairs, else from its string rule. */
export function answerer(task: StudyTask): (x: string) => string | undefined {
  const table = new Map<string, string>();
  const all = task.pools ? [...task.pools.examples, ...task.pools.queries] : (task.pairs ?? []);
  for (const [i, o] of all) if (!table.has(i)) table.set(i, o);
  const rule = STRING_RULES[task.name];
  return (x) => table.get(x) ?? rule?.(x);
}

export function classify(
  answer: string,
  x: string,
  fa: (x: string) => string | undefined,
  fb: (x: string) => string | undefined,
): SwitchClass {
  const a = fa(x);
  const b = fb(x);
  const composed = [b === undefined ? undefined : fa(b), a === undefined ? undefined : fb(a)];
  if (composed.some((c) => c !== undefined && c !== a && c !== b && c === answer)) return 'both';
  if (answer === a) return 'a';
  if (answer === b) return 'b';
  return 'other';
}

export async function runSwitch(
  model: StudyModel,
  s: SwitchSettings,
  hooks: StudyHooks = {},
): Promise<SwitchResult> {
  const [A, B] = s.tasks;
  if (A.name === B.name) throw new StudyInputError('Choose two different tasks to switch between.');
  if (s.alphas.length === 0 || !s.alphas.every(Number.isFinite))
    throw new StudyInputError('Give at least one α (a number).');
  const shots = s.shots ?? SWITCH_DEFAULTS.shots;
  checkCounts([shots], 'Shots');
  checkCounts([s.queries], 'Queries');
  const maxNewTokens = s.maxNewTokens ?? DEFAULT_MAX_NEW_TOKENS;
  const fa = answerer(A);
  const fb = answerer(B);
  // Held-out inputs of B first, then of A: inputs both tasks answer, differently.
  // A user's task keeps up to `queries` of its lines as questions, the rest as examples.
  const split = (t: StudyTask) => (t.pools ? 0 : Math.min(s.queries, (t.pairs?.length ?? 0) - shots));
  const poolA = taskPools(A, split(A), shots, s.seed);
  const poolB = taskPools(B, split(B), shots, s.seed);
  const seen = new Set<string>();
  const candidates: Pair[] = [];
  for (const [x] of [...poolB.queries, ...poolA.queries]) {
    if (seen.has(x)) continue;
    seen.add(x);
    const a = fa(x);
    const b = fb(x);
    if (a !== undefined && b !== undefined && a !== b) candidates.push([x, '']);
  }
  if (candidates.length < s.queries) {
    throw new StudyInputError(
      `Tasks "${A.name}" and "${B.name}" have ${candidates.length} held-out inputs that both answer, differently; ask for at most ${candidates.length} queries.`,
    );
  }
  const inputs = shuffled(candidates, mulberry32(seedFor(s.seed, 'switch-queries', A.name, B.name)))
    .slice(0, s.queries)
    .map((p) => p[0]);
  const started = Date.now();
  let record = newRecord(
    'switch',
    model.info,
    s.seed,
    s.tasks.map((t) => ({ name: t.name, source: t.source })),
    {
      tasks: [A.name, B.name],
      alphas: s.alphas,
      queries: s.queries,
      shots,
      maxNewTokens,
      mix: '(1 − α)·S_A + α·S_B, weighted, SSM, conv and Σ Δ (the app default)',
      inputs: 'held-out inputs of B, then of A, that both tasks answer differently',
      classes: 'both (a composition) before a, then b, then other',
    },
  );
  const counts = s.alphas.map((alpha) => ({ alpha, a: 0, b: 0, both: 0, other: 0, total: 0 }));
  const runner = new StudyRunner(model, inputs.length * s.alphas.length, hooks);
  let complete = true;
  try {
    runner.checkCancelled();
    for (const [qi, x] of inputs.entries()) {
      const avoid = new Set([x]);
      const textA = exampleText(
        drawExamples(
          poolA.examples,
          shots,
          mulberry32(seedFor(s.seed, 'switch-a', A.name, qi)),
          avoid,
          A.name,
        ),
        A.separator,
      );
      const textB = exampleText(
        drawExamples(
          poolB.examples,
          shots,
          mulberry32(seedFor(s.seed, 'switch-b', B.name, qi)),
          avoid,
          B.name,
        ),
        B.separator,
      );
      const sa: MambaState = await runner.capture(textA);
      const sb: MambaState = await runner.capture(textB);
      // A query is counted at every α or not at all, so a cancelled run's rows share one total.
      const classes: SwitchClass[] = [];
      // Every α's mix answers the query in one batched call.
      const query = queryText([x, ''], A.separator);
      const answers = await runner.answerMany(
        s.alphas.map((alpha) => {
          const mixed = runner.mix([sa, sb], { mode: 'weighted', weights: [1 - alpha, alpha] });
          return [mixed, query] as [MambaState, string];
        }),
        maxNewTokens,
      );
      for (const [ai, alpha] of s.alphas.entries()) {
        classes.push(classify(answers[ai]!, x, fa, fb));
        runner.step(`input ${qi + 1} (${x}), α ${alpha.toFixed(3)}`);
      }
      classes.forEach((c, ai) => {
        counts[ai]![c]++;
        counts[ai]!.total++;
      });
    }
  } catch (e) {
    if (!isAbort(e)) throw e;
    complete = false;
  }
  record = finish(record, started, complete);
  return { rows: counts, run: record };
}
