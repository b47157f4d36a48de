import { describe, expect, it } from 'vitest';
import { answerTokens, probabilityOfLast } from '../src/worker/answers.ts';

/** A toy tokenizer: one id per character, except that "ab" is one token (so a join can merge across). */
const encode = (t: string) => {
  const out: number[] = [];
  for (let i = 0; i < t.length; i++) {
    if (t[i] === 'a' && t[i + 1] === 'b') {
      out.push(1000);
      i++;
    } else out.push(t.charCodeAt(i));
  }
  return out;
};

describe('answer tokens', () => {
  it('takes the joined tokens when the query is their prefix', () => {
    expect(answerTokens(encode, 'x->', 'yz')).toEqual({ ids: [120, 45, 62, 121, 122], answerCount: 2 });
  });
  it('tokenizes apart when the join merges across the boundary', () => {
    // "a" + "b…" joins into the "ab" token: the query's ids are no longer a prefix.
    expect(answerTokens(encode, 'xa', 'bc')).toEqual({ ids: [120, 97, 98, 99], answerCount: 2 });
  });
  it('multiplies the probabilities of the last tokens', () => {
    const nll = new Float32Array([5, Math.log(2), Math.log(4)]);
    expect(probabilityOfLast(nll, 2)).toBeCloseTo(1 / 8, 6);
    expect(probabilityOfLast(nll, 4)).toBeNaN();
  });
});
