/** The model's load status in one line, in the header of every view (the lab's Model panel has the details). */
import { familyLabel } from '../../model/family.ts';
import { bundledLabel } from '../../model/sources.ts';
import { useModelStore, type ModelStatus as Status } from '../../stores/model.ts';

export function statusText(status: Status, phase?: string): string {
  switch (status) {
    case 'ready':
      return 'Model ready';
    case 'loading':
      return `Loading model… ${phase ?? ''}`.trim();
    case 'error':
      return 'Model not loaded';
    case 'lost':
      return 'GPU device lost';
    default:
      return 'No model loaded';
  }
}

export function ModelStatus() {
  const status = useModelStore((s) => s.status);
  const phase = useModelStore((s) => s.progress?.phase);
  const id = useModelStore((s) => s.info?.id);
  const entry = useModelStore((s) => s.entry);
  const loadedFamily = useModelStore((s) => s.info?.family);
  const notice = useModelStore((s) => s.notice);
  // Every model says its family (a bundled one its size too), so a page on a Mamba-2 never passes for the
  // default Mamba-1.
  const family =
    entry && entry.id === id ? bundledLabel(entry) : loadedFamily ? familyLabel(loadedFamily) : '';
  return (
    <>
      <p className={`model-status model-status-${status}`} role="status">
        {statusText(status, phase)}
        {status === 'ready' && id && (
          <span className="hint">
            {' '}
            · {id}
            {family && ` (${family})`}
          </span>
        )}
      </p>
      {notice && (
        <p className="hint model-notice" role="note">
          {notice}
        </p>
      )}
    </>
  );
}
