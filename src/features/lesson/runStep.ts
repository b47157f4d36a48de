/**
 * Runs one story step: makes its states (or reuses them), sets the lab up the same way, waits for the states,
 * then measures what the step is about from the step's own mix: the answer's first line, or the perplexity.
 */
import { useLibraryStore } from '../../stores/library.ts';
import type { StartState } from '../../worker/protocol.ts';
import type { TaskSuite } from '../library/presets.ts';
import type { Story, StoryStep } from '../stories/stories.ts';
import { applyStep, ensureStoryState } from '../stories/apply.ts';
import { answerFrom, perplexityFrom } from './measure.ts';

export interface StepResult {
  answer?: string;
  perplexity?: number;
  ms: number;
}

/** Resolves once every id's state is ready in the worker; rejects with the first failure. */
export function whenReady(ids: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = (): boolean => {
      const st = useLibraryStore.getState().status;
      const failed = ids.map((id) => st[id]).find((s) => s?.kind === 'error');
      if (failed?.kind === 'error') {
        reject(new Error(failed.message));
        return true;
      }
      if (ids.every((id) => st[id]?.kind === 'ready')) {
        resolve();
        return true;
      }
      return false;
    };
    if (check()) return;
    const stop = useLibraryStore.subscribe(() => {
      if (check()) stop();
    });
  });
}

export async function runStep(suite: TaskSuite, story: Story, step: StoryStep): Promise<StepResult> {
  const t0 = performance.now();
  applyStep(suite, story, step);
  const ids = step.mix.map(({ state }) => ensureStoryState(suite, story.states[state]!));
  await whenReady(ids);
  const start: StartState =
    ids.length === 0
      ? { kind: 'zero' }
      : {
          kind: 'mix',
          recipe: {
            sources: step.mix.map((m, i) => ({ key: ids[i]!, weight: m.weight })),
            mode: 'weighted',
            normalize: false,
            parts: { ssm: true, conv: true },
            profile: 'uniform',
          },
        };
  const result: StepResult = { ms: 0 };
  if (step.query !== undefined) result.answer = await answerFrom(start, step.query, 'step-answer');
  if (step.evalText !== undefined) result.perplexity = await perplexityFrom(start, step.evalText, 'step-ppl');
  result.ms = performance.now() - t0;
  return result;
}

/** Whether a guess held: the same answer exactly, or a perplexity within 10 % of the measured one. */
export function guessHeld(guess: string, r: StepResult): boolean {
  const g = guess.trim();
  if (r.answer !== undefined) return g === r.answer;
  if (r.perplexity !== undefined) {
    const x = Number(g.replace(',', '.'));
    return Number.isFinite(x) && Math.abs(x - r.perplexity) <= 0.1 * r.perplexity;
  }
  return false;
}
