/** The mixer's settings: which stored states are mixed, their weights and the operator. Persisted. */
import { create } from 'zustand';
import { persist } from 'zustand/middleware';
import type { LayerProfile, MixMode, MixRecipe } from '../worker/protocol.ts';

export const WEIGHT_MIN = -1;
export const WEIGHT_MAX = 2;

interface MixerStore {
  /** Ids of the states being mixed, in chunk order (oldest first, which A-decay uses). */
  selected: string[];
  weights: Record<string, number>;
  normalize: boolean;
  mode: MixMode;
  parts: { ssm: boolean; conv: boolean };
  profile: LayerProfile;
  toggle(id: string, on: boolean): void;
  setWeight(id: string, w: number): void;
  setWeights(w: Record<string, number>): void;
  move(id: string, by: -1 | 1): void;
  set(
    p: Partial<Pick<MixerStore, 'normalize' | 'mode' | 'parts' | 'profile' | 'selected' | 'weights'>>,
  ): void;
  forget(id: string): void;
}

const clampWeight = (w: number) => Math.min(WEIGHT_MAX, Math.max(WEIGHT_MIN, Math.round(w * 1000) / 1000));

export const useMixerStore = create<MixerStore>()(
  persist(
    (set) => ({
      selected: [],
      weights: {},
      normalize: false,
      mode: 'weighted',
      parts: { ssm: true, conv: true },
      profile: 'uniform',
      toggle: (id, on) =>
        set((s) => {
          if (on === s.selected.includes(id)) return s;
          const selected = on ? [...s.selected, id] : s.selected.filter((x) => x !== id);
          // A newly mixed state starts at an equal share, so the first mix of two is the average.
          const weights = { ...s.weights };
          if (on && weights[id] === undefined) weights[id] = 1 / Math.max(1, selected.length);
          if (on && selected.length === 2 && s.weights[selected[0]!] === 1) weights[selected[0]!] = 0.5;
          return { selected, weights };
        }),
      setWeight: (id, w) => set((s) => ({ weights: { ...s.weights, [id]: clampWeight(w) } })),
      setWeights: (w) =>
        set((s) => ({
          weights: {
            ...s.weights,
            ...Object.fromEntries(Object.entries(w).map(([k, v]) => [k, clampWeight(v)])),
          },
        })),
      move: (id, by) =>
        set((s) => {
          const i = s.selected.indexOf(id);
          const j = i + by;
          if (i < 0 || j < 0 || j >= s.selected.length) return s;
          const selected = [...s.selected];
          [selected[i], selected[j]] = [selected[j]!, selected[i]!];
          return { selected };
        }),
      set: (p) => set(p),
      forget: (id) =>
        set((s) => {
          const weights = { ...s.weights };
          delete weights[id];
          return { selected: s.selected.filter((x) => x !== id), weights };
        }),
    }),
    { name: 'soup.mixer.v1' },
  ),
);

export function recipeOf(
  s: Pick<MixerStore, 'selected' | 'weights' | 'normalize' | 'mode' | 'parts' | 'profile'>,
): MixRecipe {
  return {
    sources: s.selected.map((key) => ({ key, weight: s.weights[key] ?? 0 })),
    mode: s.mode,
    normalize: s.normalize,
    parts: s.parts,
    profile: s.profile,
  };
}
