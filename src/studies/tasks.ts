/**
 * Where a study's tasks come from, and the pools it draws from:
 *  - a task suite (`tasks.json`: {separator, tasks: [{name, train, heldout}]}), the model's own or the bundled
 *    one for models without one: prompts draw examples from `train`, questions come from `heldout`;
 *  - the user's own `input->output` lines: one task per text, split (seeded) into disjoint example and query
 *    pools when the study knows how many queries it asks.
 * Every problem is a StudyInputError naming the file, line or task.
 */
import { indexDrawer, seedFor, mulberry32, shuffled } from './random.ts';

export type Pair = [string, string];

export class StudyInputError extends Error {
  override name = 'StudyInputError';
}

export interface SuiteTask {
  name: string;
  kind?: string;
  description?: string;
  train: Pair[];
  heldout: Pair[];
}

export interface TaskSuite {
  separator: string;
  tasks: SuiteTask[];
}

export interface StudyTask {
  name: string;
  /** Where it came from, for the run record: "tasks.json of <model>", "bundled suite", "file tasks.txt". */
  source: string;
  separator: string;
  /** A suite task has fixed pools; a user's task has `pairs`, split per run. */
  pools?: { examples: Pair[]; queries: Pair[] };
  pairs?: Pair[];
}

const isPair = (p: unknown): p is Pair =>
  Array.isArray(p) && p.length === 2 && typeof p[0] === 'string' && typeof p[1] === 'string';

/** Validates a parsed tasks.json; `file` names it in messages. */
export function parseTaskSuite(raw: unknown, file = 'tasks.json'): TaskSuite {
  const o = raw as Partial<TaskSuite> | null;
  if (!o || typeof o !== 'object' || !Array.isArray(o.tasks) || typeof o.separator !== 'string') {
    throw new StudyInputError(`${file} is not a task suite: it needs "separator" and a "tasks" list.`);
  }
  o.tasks.forEach((t, i) => {
    if (!t || typeof t.name !== 'string') throw new StudyInputError(`${file}: task ${i + 1} has no name.`);
    for (const pool of ['train', 'heldout'] as const) {
      if (!Array.isArray(t[pool]) || !t[pool].every(isPair)) {
        throw new StudyInputError(
          `${file}: task "${t.name}" has no "${pool}" list of [input, output] pairs.`,
        );
      }
    }
  });
  return o as TaskSuite;
}

/** Picks `names` from a suite; an unknown name is refused with the list of known ones. */
export function suiteTasks(suite: TaskSuite, names: string[], source: string): StudyTask[] {
  if (names.length === 0) throw new StudyInputError('Name at least one task.');
  return names.map((name) => {
    const t = suite.tasks.find((x) => x.name === name);
    if (!t) {
      throw new StudyInputError(
        `Unknown task "${name}" in ${source}; it has ${suite.tasks.map((x) => x.name).join(', ')}.`,
      );
    }
    return {
      name,
      source,
      separator: suite.separator,
      pools: { examples: t.train, queries: t.heldout },
    };
  });
}

/**
 * Parses the user's `input->output` lines (blank lines are skipped). `what` names the text in messages
 * ("tasks.txt", "the pasted lines"); the line numbers are 1-based.
 */
export function parseTaskLines(text: string, what: string, separator = '->'): Pair[] {
  const pairs: Pair[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '') return;
    const at = line.indexOf(separator);
    if (at < 0) {
      throw new StudyInputError(
        `${what}, line ${i + 1}: "${line}" has no "${separator}"; write each example as input${separator}output.`,
      );
    }
    const input = line.slice(0, at);
    const output = line.slice(at + separator.length);
    if (input.trim() === '' || output.trim() === '') {
      throw new StudyInputError(
        `${what}, line ${i + 1}: "${line}" needs text on both sides of "${separator}".`,
      );
    }
    pairs.push([input, output]);
  });
  if (pairs.length === 0) throw new StudyInputError(`${what} is empty: write input${separator}output lines.`);
  return pairs;
}

/** A user's task from its lines. */
export function linesTask(name: string, text: string, source: string): StudyTask {
  return { name, source, separator: '->', pairs: parseTaskLines(text, source) };
}

/**
 * The example and query pools of a task for a run: a suite task's own; a user's task shuffled with the
 * run's seed, the first `queries` pairs asked and the rest used as examples (disjoint by construction).
 * `examplesNeeded` is the most examples one prompt set takes (k·M): fewer is refused, naming the setting.
 */
export function taskPools(
  task: StudyTask,
  queries: number,
  examplesNeeded: number,
  seed: number,
): { examples: Pair[]; queries: Pair[] } {
  if (task.pools) {
    const { examples, queries: held } = task.pools;
    if (held.length < queries) {
      throw new StudyInputError(
        `Task "${task.name}" has ${held.length} held-out queries; ask for at most ${held.length} (queries is ${queries}).`,
      );
    }
    if (examples.length < examplesNeeded) {
      throw new StudyInputError(
        `Task "${task.name}" has ${examples.length} example pairs; the settings need ${examplesNeeded} per prompt set. Lower the shots or the number of states.`,
      );
    }
    return task.pools;
  }
  const pairs = task.pairs ?? [];
  if (pairs.length < queries + examplesNeeded) {
    throw new StudyInputError(
      `Task "${task.name}" (${task.source}) has ${pairs.length} pairs; ${queries} queries and ${examplesNeeded} examples (k·M) need ${queries + examplesNeeded}. Add lines, or lower the queries, shots or states.`,
    );
  }
  const mixed = shuffled(pairs, mulberry32(seedFor(seed, 'split', task.name)));
  return { queries: mixed.slice(0, queries), examples: mixed.slice(queries) };
}

/** `input->output\n` lines: the prompt format the studies use. */
export function exampleText(pairs: Pair[], separator: string): string {
  return pairs.map(([a, b]) => `${a}${separator}${b}\n`).join('');
}

/** The question for a held-out pair: `input->`. */
export function queryText(pair: Pair, separator: string): string {
  return `${pair[0]}${separator}`;
}

/**
 * `count` distinct examples drawn from `pool`, skipping any whose input is in `avoid` (the query's own input:
 * a knowledge task's held-out fact may also be a training example, and a prompt must not hold the answer).
 */
export function drawExamples(
  pool: Pair[],
  count: number,
  rng: () => number,
  avoid: ReadonlySet<string>,
  task: string,
): Pair[] {
  const draw = indexDrawer(pool.length, rng);
  const out: Pair[] = [];
  while (out.length < count) {
    const i = draw();
    if (i === undefined) {
      throw new StudyInputError(
        `Task "${task}" has too few example pairs for ${count} examples per prompt set; lower the shots or the number of states.`,
      );
    }
    if (!avoid.has(pool[i]![0])) out.push(pool[i]!);
  }
  return out;
}
