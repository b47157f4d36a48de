/**
 * Teacher-forced answer probabilities: the tokens of `query + answer` scored from a state, and the product of
 * the probabilities of the answer's own tokens. The answer's tokens are those after the query's when the
 * tokenizer splits the joined text at the same place; otherwise the two are tokenized apart and joined.
 */

/** The token ids of query + answer, and how many of the last ones are the answer's. */
export function answerTokens(
  encode: (text: string) => number[],
  query: string,
  answer: string,
): { ids: number[]; answerCount: number } {
  const q = encode(query);
  const joined = encode(query + answer);
  const prefixHolds = joined.length > q.length && q.every((id, i) => joined[i] === id);
  if (prefixHolds) return { ids: joined, answerCount: joined.length - q.length };
  const a = encode(answer);
  return { ids: [...q, ...a], answerCount: a.length };
}

/** exp(−Σ) of the last `count` NLLs: NLL i is that of token i + 1, so the answer's are the last ones. */
export function probabilityOfLast(nll: Float32Array, count: number): number {
  if (count <= 0 || count > nll.length) return NaN;
  let sum = 0;
  for (let i = nll.length - count; i < nll.length; i++) sum += nll[i]!;
  return Math.exp(-sum);
}
