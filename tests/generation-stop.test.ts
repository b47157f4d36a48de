import { describe, expect, it } from 'vitest';
import { isTaskQuery, stopSequence } from '../src/features/generation/stop.ts';

describe('where generation stops', () => {
  it('recognises a task query by its last line ending in the separator', () => {
    expect(isTaskQuery('trace->')).toBe(true);
    expect(isTaskQuery('hot->cold\nbig->')).toBe(true);
    expect(isTaskQuery('good-> ')).toBe(true);
    expect(isTaskQuery('hot->cold\nbig')).toBe(false);
    expect(isTaskQuery('->')).toBe(false);
    expect(isTaskQuery('The king went')).toBe(false);
  });

  it('stops at the end of the line for task queries by default, and as the user chooses otherwise', () => {
    expect(stopSequence('trace->', 'auto', '')).toBe('\n');
    expect(stopSequence('Once upon a time', 'auto', '')).toBeUndefined();
    expect(stopSequence('Once upon a time', 'line', '')).toBe('\n');
    expect(stopSequence('trace->', 'none', '')).toBeUndefined();
    expect(stopSequence('x', 'custom', '.')).toBe('.');
    expect(stopSequence('x', 'custom', 'end\\n')).toBe('end\n');
    expect(stopSequence('x', 'custom', '')).toBeUndefined();
  });
});
