/** The Undo affordance for the last import, opened link or preset: a line saying what changed, and a button. */
import { useUndoStore, type UndoPlace } from './undo.ts';

export function UndoNotice({ place }: { place: UndoPlace }) {
  const pending = useUndoStore((s) => s.pending);
  const clear = useUndoStore((s) => s.clear);
  if (!pending || pending.place !== place) return null;
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
