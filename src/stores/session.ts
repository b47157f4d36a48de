/** Generation and evaluation inputs (query, sampling, evaluation text): part of the shareable recipe. */
import { create } from 'zustand';
import { persist } from 'zustand/middleware';
import type { SamplingSettings } from '../worker/protocol.ts';

export const DEFAULT_SAMPLING: SamplingSettings = {
  temperature: 0,
  topK: 40,
  topP: 0.95,
  seed: 1,
  maxNewTokens: 32,
};

interface SessionStore {
  query: string;
  evalText: string;
  sampling: SamplingSettings;
  sideBySide: boolean;
  liveRegenerate: boolean;
  set(p: Partial<Omit<SessionStore, 'set' | 'setSampling'>>): void;
  setSampling(p: Partial<SamplingSettings>): void;
}

export const useSessionStore = create<SessionStore>()(
  persist(
    (set) => ({
      query: '',
      evalText: '',
      sampling: DEFAULT_SAMPLING,
      sideBySide: true,
      liveRegenerate: false,
      set: (p) => set(p),
      setSampling: (p) => set((s) => ({ sampling: { ...s.sampling, ...p } })),
    }),
    { name: 'soup.session.v1' },
  ),
);
