/**
 * Guided stories on the bundled default model (UX.md, Teaching aids): a few steps, each saying what to look at
 * and what this model does there (measured: training/RESULTS.md and e2e/app-story.spec.ts); the lesson runs each
 * step live (src/features/lesson/LessonSteps.tsx). The states a story needs are the task presets' own k-shot prompts (same texts,
 * same names), so a story reuses states a preset already made and the other way round.
 */
import { taskPrompts, type TaskSuite } from '../library/presets.ts';

/**
 * A state a story uses: the `index`-th `shots`-shot prompt of a task, as the task presets make it, or a passage
 * of text (held out from the default model's training text) with its name and where it comes from.
 */
export type StoryState =
  { task: string; shots: number; index: number } | { name: string; text: string; source: string };

export interface StoryStep {
  title: string;
  /** One or two sentences: what to do and what to look at. */
  look: string;
  /** What this model shows there, measured. */
  expect: string;
  /** The first line Generate gives from the mix (measured), and the task whose answer to the query it is. */
  answer?: { text: string; task: string };
  /** The perplexity of the evaluation text from the mix (measured), where the step is about that. */
  perplexity?: number;
  /** Indices into the story's states, with their mix weights; none mixed means the zero state. */
  mix: { state: number; weight: number }[];
  /** The query to generate from; left as it is when absent. */
  query?: string;
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

/** Judges 2:1-2 (King James Bible), held out from the model's training text. */
const JUDGES =
  'And an angel of the LORD came up from Gilgal to Bochim, and said, I made you to go up out of Egypt, and have brought you unto the land which I sware unto your fathers; and I said, I will never break my covenant with you.\nAnd ye shall make no league with the inhabitants of this land; ye shall throw down their altars: but ye have not obeyed my voice: why have ye done this?\n';

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
        look: 'Nothing is mixed: the model continues good-> from the zero state, without being told which task this is.',
        expect: 'It answers GOOD: with no examples, this model takes good-> for an uppercase query.',
        answer: { text: 'GOOD', task: 'uppercase' },
        mix: [],
        query: 'good->',
      },
      {
        title: 'From one 2-shot antonym state',
        look: 'One state, made from two antonym examples, is mixed at weight 1. Compare with the zero state.',
        expect:
          'The same query now answers bad: two examples (neither of them about good) are enough to pick the task.',
        answer: { text: 'bad', task: 'antonym' },
        mix: [{ state: 0, weight: 1 }],
        query: 'good->',
      },
      {
        title: 'The mean of four 2-shot states',
        look: 'Four 2-shot antonym states, each at weight 0.25. In the Lab, Side by side sets the 8-shot prompt of the same examples (Concatenated texts) beside the mix.',
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
        look: 'The uppercase state at weight 1 and the plural state at 0.',
        expect:
          'The answer is TRACE, and stays TRACE while you raise α (the plural weight, uppercase at 1 − α) up to 0.42.',
        answer: { text: 'TRACE', task: 'uppercase' },
        mix: [
          { state: 0, weight: 1 },
          { state: 1, weight: 0 },
        ],
        query: 'trace->',
      },
      {
        title: 'α = 0.5: the switch',
        look: 'Half of each. Then move the lesson’s α slider to 0.40 (Shift+arrow keys step 0.1) and watch the answer.',
        expect:
          'At 0.5 the answer is already traces, at 0.40 TRACE again: for this noun the switch lies between α = 0.42 and 0.43. Other nouns switch elsewhere near 0.5: over 50 held-out nouns, about half go each way at 0.5.',
        answer: { text: 'traces', task: 'plural' },
        mix: [
          { state: 0, weight: 0.5 },
          { state: 1, weight: 0.5 },
        ],
        query: 'trace->',
      },
      {
        title: 'α = 1: all plural',
        look: 'The plural state at weight 1 and the uppercase state at 0.',
        expect:
          'The answer is traces, as it is from α = 0.43 on. At no α does the model answer TRACES: the mix selects a task, it does not compose two.',
        answer: { text: 'traces', task: 'plural' },
        mix: [
          { state: 0, weight: 0 },
          { state: 1, weight: 1 },
        ],
        query: 'trace->',
      },
    ],
  },
  {
    id: 'style-in-the-state',
    title: 'A text state carries its style',
    summary:
      'Two states from running text, four verses of the King James Bible and three sentences of a 1961 newspaper from the Brown corpus, and the perplexity of two other Bible verses as the mix moves from one to the other. The chapters and the newspaper file they come from are held out from the model’s training text.',
    states: [
      {
        name: 'KJV Exodus 13:1-4',
        source: 'King James Bible, Exodus 13:1-4',
        text: 'And the LORD spake unto Moses, saying,\nSanctify unto me all the firstborn, whatsoever openeth the womb among the children of Israel, both of man and of beast: it is mine.\nAnd Moses said unto the people, Remember this day, in which ye came out from Egypt, out of the house of bondage; for by strength of hand the LORD brought you out from this place: there shall no leavened bread be eaten.\nThis day came ye out in the month Abib.\n',
      },
      {
        name: 'Brown A10 news',
        source: 'Brown corpus, file ca10 (press reportage, 1961), its first three sentences',
        text: 'Vincent G. Ierulli has been appointed temporary assistant district attorney, it was announced Monday by Charles E. Raymond, District Attorney.\nIerulli will replace Desmond D. Connall who has been called to active military service but is expected back on the job by March 31.\nIerulli, 29, has been practicing in Portland since November, 1959. He is a graduate of Portland University and the Northwestern College of Law. He is married and the father of three children.\n',
      },
    ],
    steps: [
      {
        title: 'After the Bible passage',
        look: 'The KJV state alone; the evaluation text is Judges 2:1-2. Read the perplexity and the zero state’s beside it.',
        expect:
          'About 13.5, no better than the zero state’s 13.4: this model already expects Bible text at the start of a document.',
        mix: [
          { state: 0, weight: 1 },
          { state: 1, weight: 0 },
        ],
        evalText: JUDGES,
        perplexity: 13.45,
      },
      {
        title: 'After the newspaper',
        look: 'The Brown state alone, the same verses. In the Lab, hover the tokens to see which ones got harder.',
        expect: 'About 16.9: after three sentences of news the same verses are harder to predict.',
        mix: [
          { state: 0, weight: 0 },
          { state: 1, weight: 1 },
        ],
        evalText: JUDGES,
        perplexity: 16.9,
      },
      {
        title: 'Drag between them',
        look: 'Half of each. In the Lab, move the Brown weight from 0 to 1 and the KJV weight from 1 to 0, watching the perplexity as you go.',
        expect:
          'About 13.8 here: the perplexity stays near the Bible state’s up to about 0.5 (13.5 at 0.25) and climbs over the last half (14.75 at 0.75, 16.9 at 1).',
        mix: [
          { state: 0, weight: 0.5 },
          { state: 1, weight: 0.5 },
        ],
        evalText: JUDGES,
        perplexity: 13.79,
      },
    ],
  },
];

/** The text a story's state is made from: the same prompt the task presets give. */
export function storyStateText(suite: TaskSuite, s: StoryState): string {
  if ('text' in s) return s.text;
  const text = taskPrompts(suite, s.task, s.shots, s.index + 1)[s.index];
  if (text === undefined)
    throw new Error(`tasks.json has too few ${s.task} examples for prompt ${s.index + 1}.`);
  return text;
}

/** The library name of a story's state: the task presets' name for the same prompt. */
export function storyStateName(s: StoryState): string {
  if ('name' in s) return s.name;
  return `${s.task} ${s.shots}-shot #${s.index + 1}`;
}
