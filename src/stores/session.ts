/**
 * Generation and evaluation inputs (query, sampling, evaluation text): part of the shareable recipe.
 * Persisted. Changed through the module-level actions below, read through selectors.
 */
import { create } from 'zustand';
import { persist } from 'zustand/middleware';
import { persistedAt, STORAGE_KEYS } from '../storage/index.ts';
import type { SamplingSettings } from '../worker/protocol.ts';

export const DEFAULT_SAMPLING: SamplingSettings = {
  temperature: 0,
  topK: 40,
  topP: 0.95,
  seed: 1,
  maxNewTokens: 32,
};

/** Where generation stops besides its length: see src/features/generation/stop.ts. */
export type StopMode = 'auto' | 'line' | 'none' | 'custom';

export interface SessionInputs {
  query: string;
  evalText: string;
  sampling: SamplingSettings;
  /** Where generation stops besides its length (the end of the line for task queries by default). */
  stopMode: StopMode;
  /** The custom stop sequence (`\n` written as backslash-n), used when stopMode is 'custom'. */
  stopText: string;
  sideBySide: boolean;
  liveRegenerate: boolean;
}

interface SessionStore extends SessionInputs {
  set(p: Partial<SessionInputs>): void;
  setSampling(p: Partial<SamplingSettings>): void;
}

export const useSessionStore = create<SessionStore>()(
  persist(
    (): SessionStore => ({
      query: '',
      evalText: '',
      sampling: DEFAULT_SAMPLING,
      stopMode: 'auto',
      stopText: '',
      sideBySide: true,
      liveRegenerate: false,
      set: (p) => setSessionInputs(p),
      setSampling: (p) => setSampling(p),
    }),
    persistedAt<SessionStore>(STORAGE_KEYS.local.session),
  ),
);

/** Replaces some inputs as given: a typed query or evaluation text, a toggle, a preset's or a story's texts. */
export function setSessionInputs(p: Partial<SessionInputs>): void {
  useSessionStore.setState(p);
}

/** Changes some sampling settings, keeping the others. */
export function setSampling(p: Partial<SamplingSettings>): void {
  useSessionStore.setState((s) => ({ sampling: { ...s.sampling, ...p } }));
}

/** What the generation panel shows: use with useShallow. */
export const selectSessionInputs = (s: SessionInputs): SessionInputs => ({
  query: s.query,
  evalText: s.evalText,
  sampling: s.sampling,
  stopMode: s.stopMode,
  stopText: s.stopText,
  sideBySide: s.sideBySide,
  liveRegenerate: s.liveRegenerate,
});
