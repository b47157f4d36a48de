/** The app's views from the URL (src/features/views/navigation.ts). */
import { describe, expect, it } from 'vitest';
import { searchWithView, viewOfUrl } from '../src/features/views/navigation.ts';

describe('views from the URL', () => {
  it('opens the lesson by default, and the view the query names', () => {
    expect(viewOfUrl('')).toBe('lesson');
    expect(viewOfUrl('?present=1')).toBe('lesson');
    expect(viewOfUrl('?view=lab')).toBe('lab');
    expect(viewOfUrl('?view=Studies&hide=sweep')).toBe('studies');
    expect(viewOfUrl('?view=nonsense')).toBe('lesson');
  });

  it('opens a share link without a view in the lab its recipe describes', () => {
    expect(viewOfUrl('', '#r=abc')).toBe('lab');
    expect(viewOfUrl('?present=1', '#r=abc')).toBe('lab');
    expect(viewOfUrl('?view=lesson', '#r=abc')).toBe('lesson');
    expect(viewOfUrl('', '#other=1')).toBe('lesson');
  });

  it('writes the view into the query, keeping the other parameters', () => {
    expect(searchWithView('?present=1&hide=sweep', 'lab')).toBe('?present=1&hide=sweep&view=lab');
    expect(searchWithView('?view=lab&present=1', 'lesson')).toBe('?present=1');
    expect(searchWithView('', 'lesson')).toBe('');
    expect(viewOfUrl(searchWithView('?hub=x', 'studies'))).toBe('studies');
  });
});
