/** The long-run line's arithmetic: tokens/s since the start and the time left at that rate. */
import { describe, expect, it } from 'vitest';
import { formatEta, runRate } from '../src/features/progress/rate.ts';

describe('run rate', () => {
  it('is tokens done over seconds since the start, and the rest at that rate', () => {
    // 1,000 of 5,000 tokens after 2 s: 500 tokens/s, 4,000 tokens left = 8 s.
    expect(runRate({ done: 1000, total: 5000, startedAt: 1000 }, 3000)).toEqual({
      tokensPerSecond: 500,
      etaSeconds: 8,
    });
  });
  it('gives no rate before the first tokens or within the first instant', () => {
    expect(runRate({ done: 0, total: 5000, startedAt: 0 }, 5000)).toEqual({});
    expect(runRate({ done: 10, total: 5000, startedAt: 0 }, 10)).toEqual({});
  });
  it('says the time left in words', () => {
    expect(formatEta(0.4)).toBe('under a second');
    expect(formatEta(12.4)).toBe('about 12 s');
    expect(formatEta(600)).toBe('about 10 min');
  });
});
