/** The app's one navigation: Lesson, Lab, Studies. Real links (open in a new tab works), switched in place. */
import { searchWithView, useNavigation, VIEW_LABELS, VIEWS } from './navigation.ts';

export function ViewNav() {
  const { view, go } = useNavigation();
  return (
    <nav className="view-nav" aria-label="Views">
      {VIEWS.map((v) => (
        <a
          key={v}
          href={searchWithView(window.location.search, v) || window.location.pathname}
          aria-current={v === view ? 'page' : undefined}
          onClick={(e) => {
            if (e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return;
            e.preventDefault();
            go(v);
          }}
        >
          {VIEW_LABELS[v]}
        </a>
      ))}
    </nav>
  );
}
