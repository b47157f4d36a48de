/**
 * The lesson's setup, from the bundled task suite: two tasks whose states are mixed by α, a query both tasks
 * answer differently, each task's expected answer, and an evaluation text of held-out lines of both tasks.
 */
import { exampleLines, type TaskSuite } from '../library/presets.ts';
import type { StoryState } from '../stories/stories.ts';

export interface LessonSetup {
  /** The state at α = 0 and the one at α = 1: each task's first 2-shot preset prompt. */
  a: StoryState & { task: string };
  b: StoryState & { task: string };
  query: string;
  /** What each task answers to the query (from tasks.json). */
  answerA: string;
  answerB: string;
  evalText: string;
}

/** Uppercase ↔ plural on trace->: the switch the "switch, not a blend" story measures on the bundled model. */
export const LESSON_TASKS = { a: 'uppercase', b: 'plural', word: 'trace' } as const;

function answerOf(suite: TaskSuite, task: string, word: string): string | undefined {
  const t = suite.tasks.find((x) => x.name === task);
  return [...(t?.heldout ?? []), ...(t?.train ?? [])].find(([input]) => input === word)?.[1];
}

/** The lesson on a suite, or why it cannot be made from it. */
export function lessonSetup(suite: TaskSuite, lines = 3): LessonSetup {
  const { a, b, word } = LESSON_TASKS;
  const answerA = answerOf(suite, a, word);
  const answerB = answerOf(suite, b, word);
  if (answerA === undefined || answerB === undefined)
    throw new Error(`tasks.json has no "${word}" example for both ${a} and ${b}; the lesson needs one.`);
  const held = (task: string) =>
    (suite.tasks.find((x) => x.name === task)?.heldout ?? []).filter(([i]) => i !== word).slice(0, lines);
  const evalText = exampleLines([...held(a), ...held(b)], suite.separator);
  return {
    a: { task: a, shots: 2, index: 0 },
    b: { task: b, shots: 2, index: 0 },
    query: `${word}${suite.separator}`,
    answerA,
    answerB,
    evalText,
  };
}

/** The α grid of the chart: 0 to 1 in steps of 0.1. */
export const ALPHA_GRID = Array.from({ length: 11 }, (_, i) => i / 10);
