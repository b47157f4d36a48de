/**
 * How the lesson reads an answer: greedy, up to 16 tokens, the continuation's first line. Kept apart from
 * measure.ts (which talks to the worker) so headless measurement (measureSteps.ts, in Node) reads answers the
 * same way.
 */
import type { SamplingSettings } from '../../worker/protocol.ts';

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
