/**
 * Guided stories on the bundled default model (UX.md, Teaching aids): a few steps, each saying what to look at
 * and what this model does there (measured: training/RESULTS.md and e2e/app-story.spec.ts), with one button that
 * sets the playground up for it. The states a story needs are the task presets' own k-shot prompts (same texts,
 * same names), so a story reuses states a preset already made and the other way round.
 */
import { taskPrompts, type TaskSuite } from '../library/presets.ts';

/** A state a story uses: the `index`-th `shots`-shot prompt of a task, as the task presets make it. */
export interface StoryState {
  task: string;
  shots: number;
  index: number;
}

export interface StoryStep {
  title: string;
  /** One or two sentences: what to do and what to look at. */
  look: string;
  /** What this model shows there, measured. */
  expect: string;
  /** The first line Generate gives from the mix (measured), and the task whose answer to the query it is. */
  answer: { text: string; task: string };
  /** Indices into the story's states, with their mix weights; none mixed means the zero state. */
  mix: { state: number; weight: number }[];
  query: string;
  /** The evaluation text for live perplexity; left as it is when absent. */
  evalText?: string;
}

export interface Story {
  id: string;
  title: string;
  summary: string;
  states: StoryState[];
  steps: StoryStep[];
}

const antonym2 = (index: number): StoryState => ({ task: 'antonym', shots: 2, index });

export const STORIES: Story[] = [
  {
    id: 'state-is-a-task',
    title: 'A state is a task',
    summary:
      'The state after two antonym examples is all the model needs to answer an antonym query, and the mean of four such states does as well as the prompt of all eight examples.',
    states: [antonym2(0), antonym2(1), antonym2(2), antonym2(3)],
    steps: [
      {
        title: 'From the zero state',
        look: 'Nothing is mixed, so Generate continues good-> from the zero state: the model has not been told which task this is.',
        expect: 'It answers GOOD: with no examples, this model takes good-> for an uppercase query.',
        answer: { text: 'GOOD', task: 'uppercase' },
        mix: [],
        query: 'good->',
      },
      {
        title: 'From one 2-shot antonym state',
        look: 'One state, made from two antonym examples, is mixed at weight 1. Generate again and compare with the zero state.',
        expect:
          'The same query now answers bad: two examples (neither of them about good) are enough to pick the task.',
        answer: { text: 'bad', task: 'antonym' },
        mix: [{ state: 0, weight: 1 }],
        query: 'good->',
      },
      {
        title: 'The mean of four 2-shot states',
        look: 'Four 2-shot antonym states, each at weight 0.25. With Side by side on, the Concatenated texts column is the 8-shot prompt of the same examples.',
        expect:
          'The mean answers bad, as the 8-shot prompt does; over the held-out prompts of the five named tasks the mean of four 2-shot states scores 96.2 % against 96.0 % for the 8-shot prompt.',
        answer: { text: 'bad', task: 'antonym' },
        mix: [0, 1, 2, 3].map((state) => ({ state, weight: 0.25 })),
        query: 'good->',
      },
    ],
  },
  {
    id: 'switch-not-blend',
    title: 'Mixing two tasks is a switch, not a blend',
    summary:
      'Mix an uppercase state and a plural state as (1 − α)·uppercase + α·plural and continue the noun trace->: the answer flips from one task to the other and never composes them.',
    states: [
      { task: 'uppercase', shots: 2, index: 0 },
      { task: 'plural', shots: 2, index: 0 },
    ],
    steps: [
      {
        title: 'α = 0: all uppercase',
        look: 'The uppercase state at weight 1 and the plural state at 0. Generate.',
        expect:
          'The answer is TRACE, and stays TRACE while you raise α (the plural weight, uppercase at 1 − α) up to 0.40.',
        answer: { text: 'TRACE', task: 'uppercase' },
        mix: [
          { state: 0, weight: 1 },
          { state: 1, weight: 0 },
        ],
        query: 'trace->',
      },
      {
        title: 'α = 0.5: the switch',
        look: 'Half of each. Generate, then step the two weights down to 0.40 and back up with Alt+arrows, generating as you go.',
        expect:
          'At 0.5 the answer is already traces; it flips from TRACE between α = 0.40 and 0.45. Other nouns flip elsewhere near 0.5: over 50 held-out nouns, about half go each way at 0.5.',
        answer: { text: 'traces', task: 'plural' },
        mix: [
          { state: 0, weight: 0.5 },
          { state: 1, weight: 0.5 },
        ],
        query: 'trace->',
      },
      {
        title: 'α = 1: all plural',
        look: 'The plural state at weight 1 and the uppercase state at 0. Generate.',
        expect:
          'The answer is traces, as it is from α = 0.45 on. At no α does the model answer TRACES: the mix selects a task, it does not compose two.',
        answer: { text: 'traces', task: 'plural' },
        mix: [
          { state: 0, weight: 0 },
          { state: 1, weight: 1 },
        ],
        query: 'trace->',
      },
    ],
  },
];

/** The text a story's state is made from: the same prompt the task presets give. */
export function storyStateText(suite: TaskSuite, s: StoryState): string {
  const text = taskPrompts(suite, s.task, s.shots, s.index + 1)[s.index];
  if (text === undefined)
    throw new Error(`tasks.json has too few ${s.task} examples for prompt ${s.index + 1}.`);
  return text;
}

/** The library name of a story's state: the task presets' name for the same prompt. */
export function storyStateName(s: StoryState): string {
  return `${s.task} ${s.shots}-shot #${s.index + 1}`;
}
