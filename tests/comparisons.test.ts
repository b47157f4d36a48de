/** The comparisons the generation columns and the perplexity baselines share (src/features/mixer/comparisons.ts). */
import { describe, expect, it } from 'vitest';
import { soloAndConcatenated } from '../src/features/mixer/comparisons.ts';
import { baselineStarts } from '../src/features/perplexity/baselines.ts';

const a = { id: 'a', name: 'colours', text: 'red green' };
const b = { id: 'b', name: 'fruit', text: 'apple pear' };

describe('soloAndConcatenated', () => {
  it('lists each state alone, then the texts joined by a blank line in mixing order', () => {
    expect(soloAndConcatenated([b, a])).toEqual([
      { key: 'b', label: 'fruit alone', start: { kind: 'stored', key: 'b' } },
      { key: 'a', label: 'colours alone', start: { kind: 'stored', key: 'a' } },
      {
        key: 'concat',
        label: 'Concatenated texts',
        start: { kind: 'text', text: 'apple pear\n\nred green' },
      },
    ]);
  });

  it('has no concatenation for one state, or when a state has no text (an imported file)', () => {
    expect(soloAndConcatenated([a]).map((c) => c.key)).toEqual(['a']);
    expect(soloAndConcatenated([a, { ...b, text: '' }]).map((c) => c.key)).toEqual(['a', 'b']);
  });
});

describe('baselineStarts', () => {
  it('is the zero state, the same comparisons as the columns, then the mean and A-decay of the mixed states', () => {
    const rows = baselineStarts(
      ['a', 'b'],
      { a: 'colours', b: 'fruit' },
      { a: a.text, b: b.text },
      {
        parts: { ssm: true, conv: true },
        profile: 'uniform',
      },
    );
    expect(rows.map((r) => r.label)).toEqual([
      'Zero state',
      'colours alone',
      'fruit alone',
      'Concatenated texts',
      'Mean',
      'A-decay',
    ]);
    expect(rows[3]!.start).toEqual({ kind: 'text', text: 'red green\n\napple pear' });
  });
});
