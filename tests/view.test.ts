/** Presenter mode and hidden controls from the URL (src/features/present/view.ts). */
import { describe, expect, it } from 'vitest';
import { PRESENTER_HIDES, searchWithPresent, viewFromSearch } from '../src/features/present/view.ts';

describe('view from the URL', () => {
  it('shows everything by default', () => {
    expect(viewFromSearch('')).toEqual({ present: false, hidden: [] });
    expect(viewFromSearch('?hub=http://x')).toEqual({ present: false, hidden: [] });
  });

  it('?present=1 hides the advanced controls; present=0 does not', () => {
    const v = viewFromSearch('?present=1');
    expect(v.present).toBe(true);
    expect([...v.hidden].sort()).toEqual([...PRESENTER_HIDES].sort());
    expect(viewFromSearch('?present').present).toBe(true);
    expect(viewFromSearch('?present=0')).toEqual({ present: false, hidden: [] });
    expect(viewFromSearch('?present=off')).toEqual({ present: false, hidden: [] });
  });

  it('?hide= hides parts with or without presenter mode, ?show= keeps some, unknown names are ignored', () => {
    expect(viewFromSearch('?hide=retrieval,Inspector,,nonsense')).toEqual({
      present: false,
      hidden: ['retrieval', 'inspector'],
    });
    const v = viewFromSearch('?present=1&show=sampling&hide=sweep');
    expect(v.hidden).not.toContain('sampling');
    expect(v.hidden).toContain('sweep');
    expect(v.hidden).toContain('operator');
    // The stories stay in presenter mode (they are for teaching) and go only when asked.
    expect(viewFromSearch('?present=1').hidden).not.toContain('stories');
    expect(viewFromSearch('?hide=stories').hidden).toEqual(['stories']);
  });

  it('switching presenter mode keeps the other parameters', () => {
    expect(searchWithPresent('?hide=sweep&hub=h', true)).toBe('?hide=sweep&hub=h&present=1');
    expect(searchWithPresent('?present=1&hide=sweep', false)).toBe('?hide=sweep');
    expect(searchWithPresent('?present=1', false)).toBe('');
  });
});
