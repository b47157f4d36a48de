/**
 * The Studies form's settings as the user types them (strings), and their translation into a StudySpec.
 * Every problem is a StudyInputError naming the setting or the pasted line; nothing runs until all parse.
 */
import {
  CHUNKED_DEFAULTS,
  ICL_DEFAULTS,
  linesTask,
  parseAlphas,
  RETRIEVAL_DEFAULTS,
  StudyInputError,
  suiteTasks,
  SWITCH_DEFAULTS,
  type StudySpec,
  type StudyTask,
  type TaskSuite,
} from '../../studies/index.ts';

export type StudyKind = StudySpec['study'];

export interface FormState {
  study: StudyKind;
  /** Tasks from the suite, or the user's own input->output lines (one task). */
  taskSource: 'suite' | 'own';
  tasks: string[];
  ownName: string;
  ownLines: string;
  shots: string;
  states: string;
  queries: string;
  seed: string;
  document: string;
  chunks: string;
  continuation: string;
  libraryShots: string;
  queryShots: string;
  alphas: string;
  switchShots: string;
  switchA: string;
  switchB: string;
}

export const INITIAL_FORM: FormState = {
  study: 'icl',
  taskSource: 'suite',
  tasks: ['uppercase', 'antonym'],
  ownName: 'my task',
  ownLines: '',
  shots: ICL_DEFAULTS.shots.join(','),
  states: String(ICL_DEFAULTS.states),
  queries: String(ICL_DEFAULTS.queries),
  seed: String(ICL_DEFAULTS.seed),
  document: '',
  chunks: CHUNKED_DEFAULTS.chunks.join(','),
  continuation: String(CHUNKED_DEFAULTS.continuation),
  libraryShots: String(RETRIEVAL_DEFAULTS.libraryShots),
  queryShots: RETRIEVAL_DEFAULTS.queryShots.join(','),
  alphas: SWITCH_DEFAULTS.alphas,
  switchShots: String(SWITCH_DEFAULTS.shots),
  switchA: 'uppercase',
  switchB: 'plural',
};

function int(v: string, what: string, min = 1): number {
  const n = Number(v.trim());
  if (v.trim() === '' || !Number.isInteger(n) || n < min)
    throw new StudyInputError(`${what} must be a whole number ≥ ${min} (got "${v}").`);
  return n;
}

function ints(v: string, what: string): number[] {
  const parts = v.split(',').map((s) => s.trim());
  return parts.map((p) => int(p, what));
}

function tasksOf(f: FormState, suite: TaskSuite | undefined, label: string | undefined): StudyTask[] {
  if (f.taskSource === 'own') {
    if (f.ownName.trim() === '') throw new StudyInputError('Name your task.');
    return [linesTask(f.ownName.trim(), f.ownLines, 'the pasted lines')];
  }
  if (!suite || !label) throw new StudyInputError('The task suite has not loaded yet; wait a moment.');
  return suiteTasks(suite, f.tasks, label);
}

export function specOf(f: FormState, suite: TaskSuite | undefined, label: string | undefined): StudySpec {
  const seed = int(f.seed, 'Seed', 0);
  switch (f.study) {
    case 'icl':
      return {
        study: 'icl',
        tasks: tasksOf(f, suite, label),
        shots: ints(f.shots, 'Shots'),
        states: int(f.states, 'States (M)'),
        queries: int(f.queries, 'Queries'),
        seed,
      };
    case 'chunked':
      if (f.document.trim() === '')
        throw new StudyInputError('The document is empty: paste a text to score.');
      return {
        study: 'chunked',
        documents: [{ name: 'pasted text', text: f.document, source: 'the pasted text' }],
        chunks: ints(f.chunks, 'Chunks'),
        continuation: int(f.continuation, 'Continuation', 2),
        seed,
      };
    case 'retrieval':
      return {
        study: 'retrieval',
        tasks: tasksOf(f, suite, label),
        libraryShots: int(f.libraryShots, 'Library shots'),
        queryShots: ints(f.queryShots, 'Query shots'),
        queries: int(f.queries, 'Queries'),
        seed,
      };
    case 'switch': {
      if (!suite || !label) throw new StudyInputError('The task suite has not loaded yet; wait a moment.');
      const [a, b] = suiteTasks(suite, [f.switchA, f.switchB], label);
      return {
        study: 'switch',
        tasks: [a!, b!],
        alphas: parseAlphas(f.alphas),
        queries: int(f.queries, 'Queries'),
        shots: int(f.switchShots, 'Shots'),
        seed,
      };
    }
  }
}

/** A short title for a saved run. */
export function titleOf(spec: StudySpec): string {
  const what =
    spec.study === 'chunked' ? `K ${spec.chunks.join(',')}` : spec.tasks.map((t) => t.name).join(', ');
  return `${spec.study} · ${what} · seed ${spec.seed ?? 1}`;
}
