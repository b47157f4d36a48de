/**
 * Measures a story's steps headless, on any loaded model: each step's states captured from the zero state,
 * mixed as the lesson mixes them (weighted, not normalised, SSM and conv both), then the greedy answer's first
 * line or the evaluation text's perplexity, exactly what "Run this step" shows. The studies' runner does the
 * work (the same capture, CPU mix and greedy continuation `soup study` uses), so this runs in Node (the
 * measurement script, tests) against the same engine the page runs in its worker.
 */
import type { MixSpec } from '../../engine/states/mixSpec.ts';
import type { MambaState } from '../../engine/weights.ts';
import type { StudyRunner } from '../../studies/context.ts';
import type { TaskSuite } from '../library/presets.ts';
import { ANSWER_SAMPLING, firstLineOf } from '../lesson/answer.ts';
import type { StepMeasure, StoryMeasures } from './measured.ts';
import { storyStateText, type Story } from './stories.ts';

/** The lesson's mix of a step: Σ wᵢ·sᵢ over the step's states, both parts, weights as given. */
const stepSpec = (weights: number[]): MixSpec => ({ mode: 'weighted', weights, normalize: false });

async function stepState(
  runner: StudyRunner,
  captured: MambaState[],
  mix: { state: number; weight: number }[],
): Promise<MambaState> {
  if (mix.length === 0) return runner.zero();
  return runner.mix(
    mix.map((m) => captured[m.state]!),
    stepSpec(mix.map((m) => m.weight)),
  );
}

/** The answer (first line, trimmed) of `query` from `state`, as the lesson's answerFrom reads it. */
async function answerOf(runner: StudyRunner, state: MambaState, query: string): Promise<string> {
  return firstLineOf(await runner.answer(state, query, ANSWER_SAMPLING.maxNewTokens));
}

async function perplexityOf(runner: StudyRunner, state: MambaState, text: string): Promise<number> {
  const s = await runner.scoreSum(state, runner.encode(text, 'An evaluation text'));
  return Math.exp(s.nllSum / s.tokens);
}

/**
 * The smallest α on a grid of `step` at which the answer from (1 − α)·a + α·b stops being `from`, searched
 * by bisection between 0 and 1 (undefined when it never changes): where a switch story's answer flips.
 */
export async function switchPoint(
  runner: StudyRunner,
  a: MambaState,
  b: MambaState,
  query: string,
  step = 0.01,
): Promise<number | undefined> {
  const at = (alpha: number) => answerOf(runner, runner.mix([a, b], stepSpec([1 - alpha, alpha])), query);
  const from = await at(0);
  if ((await at(1)) === from) return undefined;
  let lo = 0;
  let hi = Math.round(1 / step);
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if ((await at(mid * step)) === from) lo = mid;
    else hi = mid;
  }
  return Number((hi * step).toFixed(6));
}

/** Every step of `story` measured on the runner's model; a two-state answer story also gets its switch point. */
export async function measureStory(
  runner: StudyRunner,
  suite: TaskSuite,
  story: Story,
): Promise<StoryMeasures> {
  const captured: MambaState[] = [];
  for (const s of story.states) captured.push(await runner.capture(storyStateText(suite, s)));
  const steps: StepMeasure[] = [];
  for (const step of story.steps) {
    const state = await stepState(runner, captured, step.mix);
    const m: StepMeasure = {};
    if (step.query !== undefined) m.answer = await answerOf(runner, state, step.query);
    if (step.evalText !== undefined) m.perplexity = await perplexityOf(runner, state, step.evalText);
    steps.push(m);
  }
  const out: StoryMeasures = { steps };
  const evalText = story.steps.find((s) => s.evalText !== undefined)?.evalText;
  if (evalText !== undefined) out.zeroPerplexity = await perplexityOf(runner, runner.zero(), evalText);
  const query = story.steps[0]?.query;
  const mixesTwo = story.steps.every((s) => s.mix.length === 2);
  if (story.states.length === 2 && mixesTwo && query !== undefined) {
    const at = await switchPoint(runner, captured[0]!, captured[1]!, query);
    if (at !== undefined) out.switchAt = at;
  }
  return out;
}
