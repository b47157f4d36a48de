/**
 * Storage (issue 3's cache view, issue 5's library size): which models' files are cached for offline use and
 * how big they are, with a Delete button each; the browser's estimate of space used and its quota; the
 * stored states per model; and a button asking the browser to keep all of it under storage pressure.
 * Reads Cache Storage and IndexedDB directly (both are shared with the worker); it changes nothing the user
 * saved except the cached model files they delete, which are downloaded again when next loaded.
 */
import { useCallback, useEffect, useState, useSyncExternalStore } from 'react';
import { formatBytes } from '../../model/progress.ts';
import {
  cachedModels,
  deleteCachedModel,
  localStorageFull,
  onLocalStorageFull,
  requestPersistentStorage,
  StateLibrary,
  storageStatus,
  type CachedModel,
  type StorageStatus,
} from '../../storage/index.ts';
import type { ModelFamily } from '../../model/family.ts';
import { useLibraryStore } from '../../stores/library.ts';
import { useModelStore } from '../../stores/model.ts';

interface StatesByModel {
  modelId: string;
  /** Mamba-2 states are labelled as such (they are 7–10× a Mamba-1 state of the same width). */
  family: ModelFamily;
  count: number;
  bytes: number;
}

interface Snapshot {
  cached?: CachedModel[];
  status: StorageStatus;
  states?: StatesByModel[];
}

/** "bundled:soup-mamba-4.6m" → "soup-mamba-4.6m (bundled)"; hub ids stay as they are. */
export function cachedModelLabel(model: string): string {
  return model.startsWith('bundled:') ? `${model.slice('bundled:'.length)} (bundled)` : model;
}

async function readStates(): Promise<StatesByModel[] | undefined> {
  let lib: StateLibrary | undefined;
  try {
    lib = await StateLibrary.open();
    const byKey = await lib.models();
    // Group by model id: states saved under another weights hash of the same id are counted with it.
    const byId = new Map<string, StatesByModel>();
    for (const m of byKey) {
      const e = byId.get(m.modelId) ?? { modelId: m.modelId, family: m.family, count: 0, bytes: 0 };
      e.count += m.count;
      e.bytes += m.bytes;
      byId.set(m.modelId, e);
    }
    return [...byId.values()];
  } catch {
    return undefined;
  } finally {
    lib?.close();
  }
}

async function snapshot(): Promise<Snapshot> {
  const [cached, status, states] = await Promise.all([
    cachedModels(),
    storageStatus().catch(() => ({})),
    readStates(),
  ]);
  return { ...(cached ? { cached } : {}), status, ...(states ? { states } : {}) };
}

export function StoragePanel() {
  const [snap, setSnap] = useState<Snapshot>();
  const [message, setMessage] = useState<string>();
  const [busy, setBusy] = useState(false);
  // Settings that could not be saved (localStorage full): the flag the storage facade raises.
  const settingsFull = useSyncExternalStore(onLocalStorageFull, localStorageFull);
  const modelStatus = useModelStore((s) => s.status);
  const entryCount = useLibraryStore((s) => s.entries.length);
  const readyCount = useLibraryStore((s) => Object.values(s.status).filter((x) => x.kind === 'ready').length);

  const refresh = useCallback(async () => {
    try {
      setSnap(await snapshot());
    } catch (e) {
      setMessage(`Could not read the browser's storage: ${(e as Error).message}`);
    }
  }, []);

  // A load fills the cache and a saved state fills the library: look again when either changes.
  useEffect(() => {
    let live = true;
    snapshot().then(
      (s) => live && setSnap(s),
      (e: unknown) => live && setMessage(`Could not read the browser's storage: ${(e as Error).message}`),
    );
    return () => {
      live = false;
    };
  }, [modelStatus, entryCount, readyCount]);

  const remove = async (model: string) => {
    setBusy(true);
    try {
      const n = await deleteCachedModel(model);
      setMessage(
        `Deleted ${n} cached file${n === 1 ? '' : 's'} of ${cachedModelLabel(model)}; it is downloaded again the next time it loads.`,
      );
    } catch (e) {
      setMessage(`Could not delete ${cachedModelLabel(model)}: ${(e as Error).message}`);
    } finally {
      setBusy(false);
      await refresh();
    }
  };

  const persist = async () => {
    const ok = await requestPersistentStorage().catch(() => false);
    setMessage(
      ok
        ? 'The browser will keep cached models and states even when space runs low.'
        : 'The browser declined (it decides by its own rules, e.g. for bookmarked or installed sites); data may be evicted when space runs low.',
    );
    await refresh();
  };

  const st = snap?.status;
  const stateTotal = snap?.states?.reduce(
    (a, s) => ({ count: a.count + s.count, bytes: a.bytes + s.bytes }),
    { count: 0, bytes: 0 },
  );
  return (
    <section className="panel storage-panel" aria-labelledby="storage-title">
      <h2 id="storage-title">Storage</h2>
      <p aria-label="Storage used">
        {st?.usage !== undefined && st.quota !== undefined
          ? `${formatBytes(st.usage)} used of ${formatBytes(st.quota)} available to this site`
          : 'This browser does not report how much storage is used.'}
        {st?.persisted ? ' · kept persistently' : ''}
      </p>
      {settingsFull && (
        <p className="error-text" role="alert">
          {settingsFull.message}
        </p>
      )}
      <h3 id="cached-models-title">Cached models</h3>
      {snap?.cached === undefined ? (
        <p className="hint">
          {snap ? 'This browser offers no Cache Storage here: models are not kept offline.' : 'Reading…'}
        </p>
      ) : snap.cached.length === 0 ? (
        <p className="hint">No model files are cached.</p>
      ) : null}
      <ul
        className="storage-list"
        aria-labelledby="cached-models-title"
        style={{ paddingLeft: 0, listStyle: 'none' }}
      >
        {snap?.cached?.map((m) => (
          <li key={m.model} className="row library-actions">
            <span>
              {cachedModelLabel(m.model)}: {formatBytes(m.bytes)} in {m.files.length} file
              {m.files.length === 1 ? '' : 's'}
            </span>
            <button
              type="button"
              disabled={busy}
              aria-label={`Delete cached ${cachedModelLabel(m.model)}`}
              onClick={() => void remove(m.model)}
            >
              Delete
            </button>
          </li>
        ))}
      </ul>
      <h3>States in this browser</h3>
      <p aria-label="Size of saved states">
        {!snap
          ? 'Reading…'
          : stateTotal === undefined
            ? 'IndexedDB is unavailable here: states last only for this visit.'
            : `${stateTotal.count} state${stateTotal.count === 1 ? '' : 's'}, ${formatBytes(stateTotal.bytes)}`}
      </p>
      {snap?.states && snap.states.length > 0 && (
        <ul className="storage-list hint">
          {snap.states.map((s) => (
            <li key={s.modelId}>
              {s.modelId}
              {s.family === 'mamba2' ? ' (Mamba-2)' : ''}: {s.count} state{s.count === 1 ? '' : 's'},{' '}
              {formatBytes(s.bytes)}
            </li>
          ))}
        </ul>
      )}
      <div className="row library-actions">
        <button type="button" onClick={() => void persist()} disabled={st?.persisted === true}>
          Keep data persistent
        </button>
        <button type="button" onClick={() => void refresh()}>
          Refresh
        </button>
      </div>
      {message && (
        <p className="hint" role="status">
          {message}
        </p>
      )}
    </section>
  );
}
