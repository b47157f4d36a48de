/** Predict-then-reveal: the answer part of a continuation, answer comparison, and the presets' expected answer. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { answerOf, sameAnswer } from '../src/features/predict/predict.ts';
import { heldOut, parseTaskSuite } from '../src/features/library/presets.ts';

describe('predict, then reveal', () => {
  it('takes the first line of a continuation as its answer', () => {
    expect(answerOf('cold\nbig->small\n')).toBe('cold');
    expect(answerOf(' cold \n')).toBe('cold');
    expect(answerOf('\nnothing on the first line')).toBe('');
    expect(answerOf('no newline')).toBe('no newline');
  });

  it('compares answers after trimming, case-sensitively, and never matches an empty guess', () => {
    expect(sameAnswer(' cold', 'cold ')).toBe(true);
    expect(sameAnswer('COLD', 'cold')).toBe(false);
    expect(sameAnswer('', '')).toBe(false);
    expect(sameAnswer('cold', 'colder')).toBe(false);
  });

  it("a preset's held-out query expects the output paired with it in the bundled tasks.json", () => {
    const raw: unknown = JSON.parse(readFileSync('public/models/soup-mamba-4.6m/tasks.json', 'utf8'));
    const suite = parseTaskSuite(raw);
    for (const t of suite.tasks) {
      const h = heldOut(suite, t.name);
      const pairs = t.heldout.filter(([input]) => `${input}${suite.separator}` === h.query);
      expect(pairs.length).toBeGreaterThan(0);
      expect(pairs.map((p) => p[1])).toContain(h.answer);
      expect(h.evalText).not.toContain(h.query);
    }
  });
});
