/**
 * Which view of the app is showing: the lesson (the default), the lab (every panel) or the studies. It lives in
 * the URL's query as `?view=`, beside `?present=` and `?hide=`, so a link opens on the same view and Back works.
 */
import { create } from 'zustand';

export const VIEWS = ['lesson', 'lab', 'studies'] as const;
export type AppView = (typeof VIEWS)[number];

export const VIEW_LABELS: Record<AppView, string> = { lesson: 'Lesson', lab: 'Lab', studies: 'Studies' };

const isView = (s: string): s is AppView => (VIEWS as readonly string[]).includes(s);

/**
 * The view a URL asks for in its query; without one (or with an unknown one) the lesson, except that a link
 * carrying a recipe (`#r=`, made in the lab before views existed) opens the lab it describes.
 */
export function viewOfUrl(search: string, hash = ''): AppView {
  const v = (new URLSearchParams(search).get('view') ?? '').trim().toLowerCase();
  if (isView(v)) return v;
  return new URLSearchParams(hash.replace(/^#/, '')).has('r') ? 'lab' : 'lesson';
}

/** The query string for `view`, other parameters (present, hide, show, hub …) kept; the lesson needs none. */
export function searchWithView(search: string, view: AppView): string {
  const q = new URLSearchParams(search);
  if (view === 'lesson') q.delete('view');
  else q.set('view', view);
  const s = q.toString();
  return s ? `?${s}` : '';
}

interface NavigationStore {
  view: AppView;
  go(view: AppView): void;
}

export const useNavigation = create<NavigationStore>()((set) => ({
  view: typeof window === 'undefined' ? 'lesson' : viewOfUrl(window.location.search, window.location.hash),
  go: (view) => {
    const u = new URL(window.location.href);
    u.search = searchWithView(u.search, view);
    if (u.href !== window.location.href) window.history.pushState(window.history.state, '', u.toString());
    set({ view });
  },
}));

if (typeof window !== 'undefined') {
  // Back and Forward move between views as the address does.
  window.addEventListener('popstate', () =>
    useNavigation.setState({ view: viewOfUrl(window.location.search, window.location.hash) }),
  );
}
