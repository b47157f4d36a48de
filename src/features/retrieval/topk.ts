/** The mixer settings that "Mix top k" applies: the k best hits with weights softmax(similarity / τ). */
import { softmaxWeights } from '../../engine/states/retrieval.ts';

export interface Hit {
  key: string;
  score: number;
}

/**
 * The top `k` hits (they arrive best first) and their weights softmax(score / τ), which sum to 1. Throws a
 * readable error for a τ that is not positive or a k below 1.
 */
export function topKMix(
  hits: Hit[],
  k: number,
  tau: number,
): { selected: string[]; weights: Record<string, number> } {
  if (!(Number.isInteger(k) && k >= 1)) throw new Error('k must be a whole number of at least 1.');
  if (hits.length === 0) throw new Error('Rank the stored states first: there is nothing to mix.');
  const top = hits.slice(0, k);
  const w = softmaxWeights(
    top.map((h) => h.score),
    tau,
  );
  return { selected: top.map((h) => h.key), weights: Object.fromEntries(top.map((h, i) => [h.key, w[i]!])) };
}
