/**
 * localStorage as the persisted stores see it: a zustand PersistStorage that never throws. Where the browser
 * offers no localStorage (Node, some private modes) values live in memory for the session; a write refused
 * because storage is full leaves the previous saved value in place and raises the `localStorageFull` flag
 * (the UI can show it) instead of throwing out of a store action.
 */
import { createJSONStorage, type PersistStorage, type StateStorage } from 'zustand/middleware';
import { isQuotaError, type LocalKey } from './keys.ts';

export class LocalStorageFullError extends Error {
  override name = 'LocalStorageFullError';
  constructor(readonly key: string) {
    super(
      `The browser's storage is full, so the latest change to "${key}" is kept only until this tab closes. Delete states or cached models in the Storage panel (or free disk space) to keep settings across reloads.`,
    );
  }
}

type Listener = (e: LocalStorageFullError) => void;
const listeners = new Set<Listener>();
let lastFull: LocalStorageFullError | undefined;

/** The last refused write since the page loaded, if any (a flag for the UI). */
export function localStorageFull(): LocalStorageFullError | undefined {
  return lastFull;
}

/** Calls `f` on every refused write; returns the unsubscribe. */
export function onLocalStorageFull(f: Listener): () => void {
  listeners.add(f);
  return () => listeners.delete(f);
}

/** The part of the Web Storage API used here; the Worker's type check has no DOM `Storage`. */
interface KeyValueStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

function browserStorage(): KeyValueStorage | undefined {
  try {
    return (globalThis as { localStorage?: KeyValueStorage }).localStorage;
  } catch {
    return undefined; // a SecurityError where storage is disabled
  }
}

/** The raw string storage behind every persisted store (exported for tests: pass your own backing map). */
export function safeStateStorage(backing: KeyValueStorage | undefined = browserStorage()): StateStorage {
  const memory = new Map<string, string>();
  return {
    getItem: (name) => (backing ? backing.getItem(name) : (memory.get(name) ?? null)),
    setItem: (name, value) => {
      if (!backing) {
        memory.set(name, value);
        return;
      }
      try {
        backing.setItem(name, value);
      } catch (e) {
        if (!isQuotaError(e)) throw e;
        lastFull = new LocalStorageFullError(name);
        for (const f of listeners) f(lastFull);
      }
    },
    removeItem: (name) => (backing ? backing.removeItem(name) : void memory.delete(name)),
  };
}

// Made on first use, so importing the facade (the worker does) runs nothing.
let shared: StateStorage | undefined;

/** The persist options naming a store's key (one of STORAGE_KEYS.local) and the storage above. */
export function persistedAt<S>(key: LocalKey): { name: LocalKey; storage: PersistStorage<S> } {
  // createJSONStorage returns undefined only when its factory throws; this one cannot.
  shared ??= safeStateStorage();
  const storage = shared;
  return { name: key, storage: createJSONStorage<S>(() => storage)! };
}
