/**
 * Presenter mode and hidden controls, from the page's URL: `?present=1` turns on large type and hides the
 * advanced controls; `?hide=a,b` hides more parts (with or without presenter mode) and `?show=a,b` keeps some of
 * the ones presenter mode would hide. The state lives in the URL's query (not in the recipe's hash), so a share
 * link made in presenter mode opens in presenter mode too.
 */
import { create } from 'zustand';

/** The parts of the page that can be hidden, with what they are (for the note saying what is hidden). */
export const PARTS = {
  operator: 'mixing operator options',
  sampling: 'sampling settings',
  sources: 'other model sources',
  files: 'state files',
  sweep: 'sweep',
  retrieval: 'retrieval',
  inspector: 'inspector',
  stories: 'stories',
  share: 'share',
  storage: 'storage',
  bench: 'benchmark link',
} as const;
export type Part = keyof typeof PARTS;

/** What presenter mode hides unless `?show=` keeps it. */
export const PRESENTER_HIDES: Part[] = [
  'operator',
  'sampling',
  'sources',
  'files',
  'share',
  'storage',
  'bench',
];

export interface View {
  present: boolean;
  hidden: Part[];
}

const isPart = (s: string): s is Part => Object.hasOwn(PARTS, s);
const list = (v: string | null): Part[] =>
  (v ?? '')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(isPart);

/** The view a URL's query asks for. Unknown part names are ignored. */
export function viewFromSearch(search: string): View {
  const q = new URLSearchParams(search);
  const p = q.get('present');
  const present = p !== null && !['0', 'false', 'no', 'off'].includes(p.trim().toLowerCase());
  const show = list(q.get('show'));
  const hide = list(q.get('hide'));
  const hidden = new Set<Part>(hide);
  if (present) for (const part of PRESENTER_HIDES) if (!show.includes(part)) hidden.add(part);
  return { present, hidden: (Object.keys(PARTS) as Part[]).filter((k) => hidden.has(k)) };
}

/** The query string with presenter mode switched on or off; other parameters (hide, show, hub …) are kept. */
export function searchWithPresent(search: string, present: boolean): string {
  const q = new URLSearchParams(search);
  if (present) q.set('present', '1');
  else q.delete('present');
  const s = q.toString();
  return s ? `?${s}` : '';
}

interface ViewStore extends View {
  setPresent(on: boolean): void;
}

export const useViewStore = create<ViewStore>()((set) => ({
  ...viewFromSearch(typeof window === 'undefined' ? '' : window.location.search),
  setPresent: (on) => {
    const u = new URL(window.location.href);
    u.search = searchWithPresent(u.search, on);
    window.history.replaceState(window.history.state, '', u.toString());
    set(viewFromSearch(u.search));
  },
}));

/** Whether a part of the page is shown in the current view. */
export function useShown(part: Part): boolean {
  return useViewStore((s) => !s.hidden.includes(part));
}
