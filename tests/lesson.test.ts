/** The lesson's setup from the bundled task suite, and how a story step's guess is judged. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseTaskSuite } from '../src/features/library/presets.ts';
import { lessonSetup } from '../src/features/lesson/lesson.ts';
import { guessHeld } from '../src/features/lesson/runStep.ts';

const suite = parseTaskSuite(
  JSON.parse(readFileSync('public/models/soup-mamba-4.6m/tasks.json', 'utf8')) as unknown,
);

describe('the lesson on the bundled task suite', () => {
  it('mixes uppercase and plural on trace->, with the answers tasks.json gives', () => {
    const s = lessonSetup(suite);
    expect(s.a).toEqual({ task: 'uppercase', shots: 2, index: 0 });
    expect(s.b).toEqual({ task: 'plural', shots: 2, index: 0 });
    expect(s.query).toBe('trace->');
    expect([s.answerA, s.answerB]).toEqual(['TRACE', 'traces']);
  });

  it('evaluates on held-out lines of both tasks, never the query word', () => {
    const s = lessonSetup(suite, 3);
    const lines = s.evalText.trimEnd().split('\n');
    expect(lines).toHaveLength(6);
    const held = (task: string) =>
      suite.tasks.find((t) => t.name === task)!.heldout.map(([i, o]) => `${i}->${o}`);
    expect(lines.slice(0, 3).every((l) => held('uppercase').includes(l))).toBe(true);
    expect(lines.slice(3).every((l) => held('plural').includes(l))).toBe(true);
    expect(lines.some((l) => l.startsWith('trace->'))).toBe(false);
  });

  it('says what is missing when a suite has no example of the query word for both tasks', () => {
    const without = {
      ...suite,
      tasks: suite.tasks.map((t) => ({
        ...t,
        train: t.train.filter(([i]) => i !== 'trace'),
        heldout: t.heldout.filter(([i]) => i !== 'trace'),
      })),
    };
    expect(() => lessonSetup(without)).toThrow(/no "trace" example for both uppercase and plural/);
  });
});

describe('a story step’s guess', () => {
  it('holds for the exact answer, or a perplexity within 10 %', () => {
    expect(guessHeld('TRACE', { answer: 'TRACE', ms: 1 })).toBe(true);
    expect(guessHeld(' traces ', { answer: 'traces', ms: 1 })).toBe(true);
    expect(guessHeld('trace', { answer: 'TRACE', ms: 1 })).toBe(false);
    expect(guessHeld('13', { perplexity: 13.45, ms: 1 })).toBe(true);
    expect(guessHeld('12,5', { perplexity: 13.45, ms: 1 })).toBe(true);
    expect(guessHeld('12', { perplexity: 13.45, ms: 1 })).toBe(false);
    expect(guessHeld('about 13', { perplexity: 13.45, ms: 1 })).toBe(false);
  });
});
