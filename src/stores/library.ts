/**
 * The library of stored states as the page sees it: ids, names, the texts they were made from, and where
 * each state stands in the worker. Persisted in localStorage (small: texts and metadata), so a reload
 * rebuilds every state from its text; the tensors themselves live in the worker.
 */
import { create } from 'zustand';
import { persist } from 'zustand/middleware';

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
    (set) => ({
      entries: [],
      status: {},
      add: (e) => set((s) => ({ entries: [...s.entries, e] })),
      rename: (id, name) =>
        set((s) => ({ entries: s.entries.map((e) => (e.id === id ? { ...e, name } : e)) })),
      remove: (id) =>
        set((s) => {
          const status = { ...s.status };
          delete status[id];
          return { entries: s.entries.filter((e) => e.id !== id), status };
        }),
      setStatus: (id, st) => set((s) => ({ status: { ...s.status, [id]: st } })),
      setTokenCount: (id, n) =>
        set((s) => ({ entries: s.entries.map((e) => (e.id === id ? { ...e, tokenCount: n } : e)) })),
      replaceAll: (entries) => set({ entries, status: {} }),
    }),
    { name: 'soup.library.v1', partialize: (s) => ({ entries: s.entries }) },
  ),
);

export function newEntryId(): string {
  return `s-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

/** A name not yet used in the library, from a wished-for one. */
export function uniqueName(wish: string, entries: LibraryEntry[]): string {
  const base = wish.trim() || 'state';
  const used = new Set(entries.map((e) => e.name));
  if (!used.has(base)) return base;
  for (let i = 2; ; i++) if (!used.has(`${base} ${i}`)) return `${base} ${i}`;
}
