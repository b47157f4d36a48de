/**
 * What the stories' steps give on bundled models other than the one their sentences were written for (the
 * default Mamba-1), measured headless by scripts/measure-stories.ts with the same states, mixes, queries and
 * texts, and checked again on the real adapter by tests/stories.measured.test.ts. The lesson shows these as
 * the loaded model's own figures, beside the default model's sentence, so a class can compare the families.
 */
import type { Story } from './stories.ts';

export interface StepMeasure {
  /** The first line of the greedy answer to the step's query. */
  answer?: string;
  /** The perplexity of the step's evaluation text. */
  perplexity?: number;
}

export interface StoryMeasures {
  steps: StepMeasure[];
  /** Answer stories of two states: the smallest α (0.01 grid) at which the answer leaves α = 0's. */
  switchAt?: number;
  /** Perplexity stories: the evaluation text's perplexity from the zero state. */
  zeroPerplexity?: number;
}

/** Per bundled model id, per story id (perplexities to two decimals). */
export const MEASURED: Record<string, Record<string, StoryMeasures>> = {
  'soup-mamba2-4.5m': {
    'state-is-a-task': { steps: [{ answer: 'bad' }, { answer: 'bad' }, { answer: 'bad' }] },
    'switch-not-blend': {
      steps: [{ answer: 'TRACE' }, { answer: 'traces' }, { answer: 'traces' }],
      switchAt: 0.37,
    },
    'style-in-the-state': {
      steps: [{ perplexity: 17.74 }, { perplexity: 19.02 }, { perplexity: 17.21 }],
      zeroPerplexity: 18.71,
    },
  },
};

/** The loaded model's measurements of a story, if it has them. */
export function measuresOf(modelId: string | undefined, storyId: string): StoryMeasures | undefined {
  return modelId === undefined ? undefined : MEASURED[modelId]?.[storyId];
}

/** One or two sentences saying what a model does at step `at` of `story`, from its measurements. */
export function measuredSentence(story: Story, at: number, m: StoryMeasures): string {
  const step = m.steps[at];
  if (!step) return '';
  const parts: string[] = [];
  if (step.answer !== undefined) parts.push(`It answers ${step.answer || '(nothing)'}.`);
  if (step.perplexity !== undefined) {
    const zero =
      m.zeroPerplexity === undefined ? '' : ` (from the zero state ${m.zeroPerplexity.toFixed(1)})`;
    parts.push(`Perplexity about ${step.perplexity.toFixed(1)}${zero}.`);
  }
  if (m.switchAt !== undefined && story.steps[at]?.query !== undefined) {
    parts.push(`The answer leaves α = 0’s at α = ${m.switchAt.toFixed(2)}.`);
  }
  return parts.join(' ');
}
