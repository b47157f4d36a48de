/** The header's presenter-mode switch and, while anything is hidden, a note saying what and how to get it back. */
import { useShallow } from 'zustand/react/shallow';
import { PARTS, useViewStore } from './view.ts';

export function PresenterToggle() {
  const { present, hidden, setPresent } = useViewStore(
    useShallow((s) => ({ present: s.present, hidden: s.hidden, setPresent: s.setPresent })),
  );
  return (
    <div className="presenter">
      <button
        type="button"
        className="presenter-toggle"
        aria-pressed={present}
        onClick={() => setPresent(!present)}
      >
        Presenter mode
      </button>
      {hidden.length > 0 && (
        <span className="hint" aria-label="Hidden controls">
          Hidden: {hidden.map((p) => PARTS[p]).join(', ')}.
          {present ? ' Turn presenter mode off to see them.' : ' Remove ?hide= from the address to see them.'}
        </span>
      )}
    </div>
  );
}
