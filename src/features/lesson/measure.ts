/**
 * What the lesson measures, through the engine worker: the greedy answer to a query from a mix of two states at
 * weight α, the teacher-forced probability of each expected answer (the product over its tokens), and the
 * perplexity of an evaluation text. All computed live from the states in the worker, never recorded.
 */
import type { MixRecipe, StartState } from '../../worker/protocol.ts';
import { engine } from '../model/engine.ts';
import { ANSWER_SAMPLING, firstLineOf } from './answer.ts';

export { ANSWER_SAMPLING, firstLineOf };

/** (1 − α)·A + α·B: the paper's weighted sum of the whole state, the same at every layer. */
export function mixAt(a: string, b: string, alpha: number): StartState {
  const recipe: MixRecipe = {
    sources: [
      { key: a, weight: 1 - alpha },
      { key: b, weight: alpha },
    ],
    mode: 'weighted',
    normalize: false,
    parts: { ssm: true, conv: true },
    profile: 'uniform',
  };
  return { kind: 'mix', recipe };
}

/** The greedy answer to `query` from `start`: the continuation's first line. */
export async function answerFrom(start: StartState, query: string, lane: string): Promise<string> {
  const r = await engine().request(
    'generated',
    { type: 'generate', start, query, sampling: ANSWER_SAMPLING, stop: '\n' },
    { lane },
  );
  return firstLineOf(r.tokens.map((t) => t.text).join(''));
}

export interface CurvePoint {
  alpha: number;
  /** The probability of each answer, in the order asked. */
  probs: number[];
  perplexity: number;
}

/**
 * Over `alphas`, each answer's teacher-forced probability (the product over its tokens) and the text's
 * perplexity, from (1 − α)·a + α·b: one request, superseded on its lane by the next.
 */
export async function answerCurve(
  ids: [string, string],
  alphas: number[],
  query: string,
  answers: string[],
  text: string,
  lane: string,
  onProgress?: (done: number, total: number) => void,
): Promise<CurvePoint[]> {
  const r = await engine().request(
    'answersSwept',
    {
      type: 'answerSweep',
      a: ids[0],
      b: ids[1],
      alphas,
      query,
      answers,
      ...(text.trim() ? { text } : {}),
    },
    { lane, ...(onProgress ? { onProgress: (_p, done, total) => onProgress(done, total) } : {}) },
  );
  return r.points;
}

/** The perplexity of `text` read from `start`. */
export async function perplexityFrom(start: StartState, text: string, lane?: string): Promise<number> {
  const r = await engine().request('scored', { type: 'score', start, text }, lane ? { lane } : {});
  return r.perplexity;
}
