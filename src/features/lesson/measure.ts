/**
 * What the lesson measures, through the engine worker: the greedy answer to a query from a mix of two states at
 * weight α, the teacher-forced probability of an expected answer (the product over its tokens), and the
 * perplexity of an evaluation text. All computed live from the states in the worker, never recorded.
 */
import type { MixRecipe, SamplingSettings, StartState } from '../../worker/protocol.ts';
import { engine } from '../model/engine.ts';

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

/** Greedy; generation stops at the end of the line (the answer), or after 16 tokens. */
export const ANSWER_SAMPLING: SamplingSettings = {
  temperature: 0,
  topK: 40,
  topP: 0.95,
  seed: 1,
  maxNewTokens: 16,
};

/** The first line of a continuation, as a learner reads the answer. */
export function firstLineOf(text: string): string {
  return text.split('\n')[0]!.trim();
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

const tokenCounts = new Map<string, Promise<number>>();

/** How many tokens `text` has (cached: the lesson asks about the same few texts at every α). */
function tokenCount(text: string): Promise<number> {
  let n = tokenCounts.get(text);
  if (!n) {
    n = engine()
      .request('tokenized', { type: 'tokenize', text })
      .then((r) => r.tokens.length);
    n.catch(() => tokenCounts.delete(text));
    tokenCounts.set(text, n);
  }
  return n;
}

/** Forgets cached token counts (another model has another tokenizer). */
export function forgetTokenCounts(): void {
  tokenCounts.clear();
}

/**
 * P(answer | start, query), teacher-forced: the answer's tokens are the last ones of query + answer, and the
 * score's NLLs (one per token after the first) give −log p of each; their sum is −log of the product.
 */
export async function answerProbability(
  start: StartState,
  query: string,
  answer: string,
  lane?: string,
): Promise<number> {
  const full = query + answer;
  const [nQuery, nFull] = await Promise.all([tokenCount(query), tokenCount(full)]);
  const k = Math.max(1, nFull - nQuery);
  const r = await engine().request('scored', { type: 'score', start, text: full }, lane ? { lane } : {});
  const tail = r.nll.slice(-k);
  return Math.exp(-tail.reduce((s, x) => s + x, 0));
}

/** The perplexity of `text` read from `start`. */
export async function perplexityFrom(start: StartState, text: string, lane?: string): Promise<number> {
  const r = await engine().request('scored', { type: 'score', start, text }, lane ? { lane } : {});
  return r.perplexity;
}
