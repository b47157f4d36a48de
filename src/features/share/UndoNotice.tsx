/** The Undo affordance for the last import or opened link: a line saying what changed, and a button. */
import { useUndoStore } from './undo.ts';

export function UndoNotice() {
  const pending = useUndoStore((s) => s.pending);
  const clear = useUndoStore((s) => s.clear);
  if (!pending) return null;
  return (
    <p className="banner undo-notice" role="status">
      {pending.label}{' '}
      <button
        type="button"
        onClick={() => {
          pending.undo();
          clear();
        }}
      >
        Undo
      </button>{' '}
      <button type="button" aria-label="Dismiss" onClick={clear}>
        ×
      </button>
    </p>
  );
}
