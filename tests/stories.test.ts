/** The guided stories: well formed, built from the bundled model's tasks, and saying what the steps expect. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseTaskSuite, taskPrompts } from '../src/features/library/presets.ts';
import { STORIES, storyStateName, storyStateText } from '../src/features/stories/stories.ts';
import { WEIGHT_MAX, WEIGHT_MIN } from '../src/stores/mixer.ts';

const suite = parseTaskSuite(
  JSON.parse(readFileSync('public/models/soup-mamba-4.6m/tasks.json', 'utf8')) as unknown,
);
const task = (name: string) => suite.tasks.find((t) => t.name === name);
const sentences = (s: string) => s.split(/[.!?:](?:\s|$)/).filter((x) => x.trim()).length;

describe('stories', () => {
  it('have unique ids and titles and three or four steps with distinct titles', () => {
    expect(new Set(STORIES.map((s) => s.id)).size).toBe(STORIES.length);
    expect(new Set(STORIES.map((s) => s.title)).size).toBe(STORIES.length);
    for (const story of STORIES) {
      expect(story.steps.length).toBeGreaterThanOrEqual(3);
      expect(story.steps.length).toBeLessThanOrEqual(4);
      expect(new Set(story.steps.map((s) => s.title)).size).toBe(story.steps.length);
      expect(story.summary.trim()).not.toBe('');
    }
  });

  it('make their task states from the bundled tasks.json, as the task presets do (same texts, same names)', () => {
    for (const story of STORIES) {
      const texts = story.states.map((s) => storyStateText(suite, s));
      expect(new Set(texts).size).toBe(texts.length);
      expect(new Set(story.states.map(storyStateName)).size).toBe(texts.length);
      for (const [k, s] of story.states.entries()) {
        if (!('task' in s)) continue;
        const t = task(s.task);
        expect(t, `${story.id}: task ${s.task}`).toBeDefined();
        expect(Number.isInteger(s.shots) && s.shots >= 1).toBe(true);
        const lines = texts[k]!.split('\n').filter(Boolean);
        expect(lines).toHaveLength(s.shots);
        for (const line of lines) {
          const [input, output] = line.split(suite.separator);
          expect(t!.train).toContainEqual([input, output]);
        }
        // The presets panel makes up to eight states of a task; the story's is one of them, named alike.
        expect(taskPrompts(suite, s.task, s.shots, 8)[s.index]).toBe(texts[k]);
        expect(storyStateName(s)).toBe(`${s.task} ${s.shots}-shot #${s.index + 1}`);
      }
    }
  });

  it('mix existing states with weights the sliders can hold, and ask queries in the task format', () => {
    for (const story of STORIES) {
      for (const step of story.steps) {
        const at = step.mix.map((m) => m.state);
        expect(new Set(at).size).toBe(at.length);
        for (const m of step.mix) {
          expect(story.states[m.state], `${story.id} / ${step.title}`).toBeDefined();
          expect(m.weight).toBeGreaterThanOrEqual(WEIGHT_MIN);
          expect(m.weight).toBeLessThanOrEqual(WEIGHT_MAX);
        }
        if (step.query === undefined) continue;
        expect(step.query.endsWith(suite.separator)).toBe(true);
        // No state's examples contain the query's word: the answer must come from the task, not a copy.
        const word = step.query.slice(0, -suite.separator.length);
        for (const s of story.states) {
          for (const line of storyStateText(suite, s).split('\n')) {
            expect(line.split(suite.separator)[0]).not.toBe(word);
          }
        }
      }
    }
  });

  it('say in one or two sentences what to look at, and what the step shows: an answer or a perplexity', () => {
    for (const story of STORIES) {
      for (const step of story.steps) {
        expect(sentences(step.look), step.look).toBeGreaterThanOrEqual(1);
        expect(sentences(step.look), step.look).toBeLessThanOrEqual(2);
        expect(step.answer !== undefined || step.perplexity !== undefined, step.title).toBe(true);
        if (step.answer) {
          expect(step.query, step.title).toBeDefined();
          const word = step.query!.slice(0, -suite.separator.length);
          const t = task(step.answer.task);
          expect(t, step.answer.task).toBeDefined();
          const pairs = [...t!.train, ...t!.heldout].filter(([input]) => input === word);
          expect(
            pairs.map((p) => p[1]),
            `${step.title}: ${step.answer.task}(${word})`,
          ).toContain(step.answer.text);
          expect(step.expect).toContain(step.answer.text);
        }
        if (step.perplexity !== undefined) {
          expect(step.evalText?.trim(), step.title).toBeTruthy();
          // The text gives the measured perplexity, to one decimal.
          const numbers = (step.expect.match(/\d+\.\d/g) ?? []).map(Number);
          expect(
            numbers.some((n) => Math.abs(n - step.perplexity!) <= 0.051),
            `${step.title}: ${step.expect}`,
          ).toBe(true);
        }
      }
    }
  });

  it('switch story: α = 0 is the uppercase state alone and α = 1 the plural state alone', () => {
    const story = STORIES.find((s) => s.id === 'switch-not-blend')!;
    const weightOf = (i: number, name: string) =>
      story.steps[i]!.mix.find((m) => storyStateName(story.states[m.state]!).startsWith(name))?.weight ?? 0;
    const lastStep = story.steps.length - 1;
    expect([weightOf(0, 'uppercase'), weightOf(0, 'plural')]).toEqual([1, 0]);
    expect([weightOf(lastStep, 'uppercase'), weightOf(lastStep, 'plural')]).toEqual([0, 1]);
    expect(story.steps[0]!.answer).toEqual({ text: 'TRACE', task: 'uppercase' });
    expect(story.steps[lastStep]!.answer).toEqual({ text: 'traces', task: 'plural' });
  });
});
