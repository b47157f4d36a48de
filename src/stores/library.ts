/**
 * The library of stored states as the page sees it: ids, names, the texts they were made from, and where
 * each state stands in the worker. Persisted in localStorage (small: texts and metadata), so a reload
 * rebuilds every state from its text; the tensors themselves live in the worker. Changed through the
 * module-level actions below; the store's methods forward to them for the call sites that still use them.
 */
import { create } from 'zustand';
import { persist } from 'zustand/middleware';
import { persistedAt, STORAGE_KEYS } from '../storage/index.ts';

export type EntryOrigin = 'text' | 'preset' | 'import';

export interface LibraryEntry {
  id: string;
  name: string;
  /** The text read from the zero state; empty for imported state files. */
  text: string;
  origin: EntryOrigin;
  task?: string;
  createdAt: number;
  tokenCount?: number;
}

export type EntryStatus =
  | { kind: 'pending'; done: number; total: number }
  | { kind: 'ready'; fromStorage?: boolean; warning?: string }
  | { kind: 'error'; message: string };

interface LibraryStore {
  entries: LibraryEntry[];
  status: Record<string, EntryStatus>;
  add(e: LibraryEntry): void;
  rename(id: string, name: string): void;
  remove(id: string): void;
  setStatus(id: string, s: EntryStatus): void;
  setTokenCount(id: string, n: number): void;
  replaceAll(entries: LibraryEntry[]): void;
}

export const useLibraryStore = create<LibraryStore>()(
  persist(
    (): LibraryStore => ({
      entries: [],
      status: {},
      add: (e) => addEntry(e),
      rename: (id, name) => renameEntry(id, name),
      remove: (id) => removeEntry(id),
      setStatus: (id, st) => setEntryStatus(id, st),
      setTokenCount: (id, n) => setEntryTokenCount(id, n),
      replaceAll: (entries) => replaceLibrary(entries),
    }),
    {
      ...persistedAt<Pick<LibraryStore, 'entries'>>(STORAGE_KEYS.local.library),
      // Only the entries: each state's status is the worker's, rebuilt after a reload.
      partialize: (s) => ({ entries: s.entries }),
    },
  ),
);

const update = useLibraryStore.setState;

/** A new state in the library (its tensors are the worker's; see src/features/model/engine.ts). */
export function addEntry(e: LibraryEntry): void {
  update((s) => ({ entries: [...s.entries, e] }));
}

export function renameEntry(id: string, name: string): void {
  update((s) => ({ entries: s.entries.map((e) => (e.id === id ? { ...e, name } : e)) }));
}

/** Takes a state out of the library, with its status. */
export function removeEntry(id: string): void {
  update((s) => {
    const status = { ...s.status };
    delete status[id];
    return { entries: s.entries.filter((e) => e.id !== id), status };
  });
}

/** Where the worker stands with one state: computing (with progress), ready, or failed. */
export function setEntryStatus(id: string, st: EntryStatus): void {
  update((s) => ({ status: { ...s.status, [id]: st } }));
}

/** The state's token count, known once the worker has read its text. */
export function setEntryTokenCount(id: string, n: number): void {
  update((s) => ({ entries: s.entries.map((e) => (e.id === id ? { ...e, tokenCount: n } : e)) }));
}

/** A whole new library (a share link's): the old entries and every status are dropped. */
export function replaceLibrary(entries: LibraryEntry[]): void {
  update({ entries, status: {} });
}

/** Whether the worker has this state ready (atomic: a component re-renders only when this answer changes). */
export const selectIsReady =
  (id: string) =>
  (s: Pick<LibraryStore, 'status'>): boolean =>
    s.status[id]?.kind === 'ready';

/** How many states are ready. */
export const selectReadyCount = (s: Pick<LibraryStore, 'status'>): number =>
  Object.values(s.status).filter((x) => x.kind === 'ready').length;

/** A name not yet used in the library, from a wished-for one. */
export function uniqueName(wish: string, entries: LibraryEntry[]): string {
  const base = wish.trim() || 'state';
  const used = new Set(entries.map((e) => e.name));
  if (!used.has(base)) return base;
  for (let i = 2; ; i++) if (!used.has(`${base} ${i}`)) return `${base} ${i}`;
}
