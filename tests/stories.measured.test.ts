/**
 * The stories' figures are true on the real adapter (SwiftShader here): every step measured headless on the
 * default Mamba-1 gives what its sentence says (the answer, the perplexity to one decimal, the switch point
 * and the zero state's perplexity the text quotes), and on the bundled Mamba-2 the figures recorded in
 * src/features/stories/measured.ts (answers exactly, perplexities within 0.01, the switch point exactly).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openModelDir } from '../src/cli/model-dir.ts';
import { studyModelOf } from '../src/cli/study-model.ts';
import { parseTaskSuite } from '../src/features/library/presets.ts';
import { measureStory } from '../src/features/stories/measureSteps.ts';
import { MEASURED, measuredSentence, type StoryMeasures } from '../src/features/stories/measured.ts';
import { STORIES } from '../src/features/stories/stories.ts';
import { StudyRunner } from '../src/studies/context.ts';

const MODELS = join(import.meta.dirname, '../public/models');
const suite = parseTaskSuite(JSON.parse(readFileSync(join(MODELS, 'soup-mamba-4.6m/tasks.json'), 'utf8')));

async function measureAll(folder: string): Promise<Record<string, StoryMeasures>> {
  const opened = await openModelDir(join(MODELS, folder));
  try {
    const runner = new StudyRunner(studyModelOf(opened), 0);
    const out: Record<string, StoryMeasures> = {};
    for (const story of STORIES) out[story.id] = await measureStory(runner, suite, story);
    return out;
  } finally {
    opened.engine.destroy();
  }
}

describe('stories measured headless', () => {
  it('the default Mamba-1 does what each step says', { timeout: 300_000 }, async () => {
    const got = await measureAll('soup-mamba-4.6m');
    for (const story of STORIES) {
      const m = got[story.id]!;
      story.steps.forEach((step, i) => {
        if (step.answer) expect(m.steps[i]!.answer, `${story.id} #${i}`).toBe(step.answer.text);
        if (step.perplexity !== undefined)
          expect(Math.abs(m.steps[i]!.perplexity! - step.perplexity), `${story.id} #${i}`).toBeLessThan(0.01);
      });
    }
    // The sentences quote these too: TRACE "up to 0.42", traces "from α = 0.43 on"; the zero state's 13.4.
    expect(got['switch-not-blend']!.switchAt).toBe(0.43);
    expect(got['style-in-the-state']!.zeroPerplexity!.toFixed(1)).toBe('13.4');
  });

  it('the bundled Mamba-2 gives the figures recorded for it', { timeout: 300_000 }, async () => {
    const got = await measureAll('soup-mamba2-4.5m');
    const want = MEASURED['soup-mamba2-4.5m']!;
    for (const story of STORIES) {
      const g = got[story.id]!;
      const w = want[story.id]!;
      expect(g.steps.map((s) => s.answer)).toEqual(w.steps.map((s) => s.answer));
      g.steps.forEach((s, i) => {
        if (w.steps[i]!.perplexity === undefined) return expect(s.perplexity).toBeUndefined();
        expect(Math.abs(s.perplexity! - w.steps[i]!.perplexity!), `${story.id} #${i}`).toBeLessThan(0.01);
      });
      expect(g.switchAt).toBe(w.switchAt);
      if (w.zeroPerplexity !== undefined)
        expect(Math.abs(g.zeroPerplexity! - w.zeroPerplexity)).toBeLessThan(0.01);
    }
  });
});

describe('measuredSentence', () => {
  it('says the answer, the perplexity with the zero state’s, and where a switch story flips', () => {
    const [task, sw, style] = STORIES;
    const m2 = MEASURED['soup-mamba2-4.5m']!;
    expect(measuredSentence(task!, 0, m2['state-is-a-task']!)).toBe('It answers bad.');
    expect(measuredSentence(sw!, 1, m2['switch-not-blend']!)).toBe(
      'It answers traces. The answer leaves α = 0’s at α = 0.37.',
    );
    expect(measuredSentence(style!, 0, m2['style-in-the-state']!)).toBe(
      'Perplexity about 17.7 (from the zero state 18.7).',
    );
  });
});
