/**
 * One step of undo for the actions that replace the user's work wholesale (importing a session, opening a
 * share link): what the mixer and the session inputs held before, and which library entries the action
 * added. Undo puts the settings back and removes those entries; entries the user already had are never
 * touched by the action, so they need no restoring.
 */
import { create } from 'zustand';
import { removeEntry, useLibraryStore } from '../../stores/library.ts';
import { setMixOptions, useMixerStore } from '../../stores/mixer.ts';
import { setSessionInputs, useSessionStore } from '../../stores/session.ts';
import { engine } from '../model/engine.ts';

export interface WorkSnapshot {
  mixer: Pick<
    ReturnType<typeof useMixerStore.getState>,
    'selected' | 'weights' | 'mode' | 'normalize' | 'parts' | 'profile'
  >;
  session: Pick<ReturnType<typeof useSessionStore.getState>, 'query' | 'evalText' | 'sampling'>;
}

export function snapshotWork(): WorkSnapshot {
  const m = useMixerStore.getState();
  const s = useSessionStore.getState();
  return {
    mixer: {
      selected: m.selected,
      weights: m.weights,
      mode: m.mode,
      normalize: m.normalize,
      parts: m.parts,
      profile: m.profile,
    },
    session: { query: s.query, evalText: s.evalText, sampling: s.sampling },
  };
}

export function restoreWork(snap: WorkSnapshot, addedIds: string[]): void {
  const lib = useLibraryStore.getState();
  for (const id of addedIds) {
    if (!lib.entries.some((e) => e.id === id)) continue;
    removeEntry(id);
    void engine()
      .request('done', { type: 'drop', key: id })
      .catch(() => {});
  }
  setMixOptions(snap.mixer);
  setSessionInputs(snap.session);
}

/** Where the Undo line shows: beside the control that made the change (the page top for an opened link). */
export type UndoPlace = 'link' | 'session' | 'preset';

interface UndoStore {
  /** What the last replacing action did, in words, and how to take it back; absent once used or dismissed. */
  pending?: { label: string; place: UndoPlace; undo: () => void };
  offer(label: string, place: UndoPlace, undo: () => void): void;
  clear(): void;
}

export const useUndoStore = create<UndoStore>()((set) => ({
  offer: (label, place, undo) => set({ pending: { label, place, undo } }),
  clear: () => set({ pending: undefined }),
}));
