/**
 * The mixer's settings: which stored states are mixed, their weights and the operator. Persisted.
 *
 * Change it through the module-level actions below (named for what the user does); read it through a
 * selector: `useMixSettings()` for the settings as a whole, or `useMixerStore((s) => s.mode)` for one field.
 * The store's own methods forward to the actions for the call sites that still use them.
 */
import { create } from 'zustand';
import { persist } from 'zustand/middleware';
import { useShallow } from 'zustand/react/shallow';
import type { MixMode, RecipeProfile } from '../engine/states/mixSpec.ts';
import type { MixRecipe } from '../worker/protocol.ts';
import { persistedAt, STORAGE_KEYS } from '../storage/index.ts';

export const WEIGHT_MIN = -1;
export const WEIGHT_MAX = 2;

export interface MixSettings {
  /** Ids of the states being mixed, in chunk order (oldest first, which A-decay uses). */
  selected: string[];
  weights: Record<string, number>;
  normalize: boolean;
  mode: MixMode;
  parts: { ssm: boolean; conv: boolean };
  profile: RecipeProfile;
}

export type MixOptions = Partial<MixSettings>;

interface MixerStore extends MixSettings {
  toggle(id: string, on: boolean): void;
  setWeight(id: string, w: number): void;
  setWeights(w: Record<string, number>): void;
  move(id: string, by: -1 | 1): void;
  set(p: MixOptions): void;
  forget(id: string): void;
}

export const DEFAULT_MIX: MixSettings = {
  selected: [],
  weights: {},
  normalize: false,
  mode: 'weighted',
  parts: { ssm: true, conv: true },
  profile: 'uniform',
};

const clampWeight = (w: number) => Math.min(WEIGHT_MAX, Math.max(WEIGHT_MIN, Math.round(w * 1000) / 1000));

export const useMixerStore = create<MixerStore>()(
  persist(
    (): MixerStore => ({
      ...DEFAULT_MIX,
      toggle: (id, on) => toggleMixed(id, on),
      setWeight: (id, w) => setMixWeight(id, w),
      setWeights: (w) => setMixWeights(w),
      move: (id, by) => moveMixed(id, by),
      set: (p) => setMixOptions(p),
      forget: (id) => forgetMixed(id),
    }),
    persistedAt<MixerStore>(STORAGE_KEYS.local.mixer),
  ),
);

const update = useMixerStore.setState;

/** Ticks or unticks a state for mixing. A newly mixed state starts at an equal share (two → their average). */
export function toggleMixed(id: string, on: boolean): void {
  update((s) => {
    if (on === s.selected.includes(id)) return s;
    const selected = on ? [...s.selected, id] : s.selected.filter((x) => x !== id);
    const weights = { ...s.weights };
    if (on && weights[id] === undefined) weights[id] = 1 / Math.max(1, selected.length);
    if (on && selected.length === 2 && s.weights[selected[0]!] === 1) weights[selected[0]!] = 0.5;
    return { selected, weights };
  });
}

/** Moves one weight slider; the value is clamped to [WEIGHT_MIN, WEIGHT_MAX] and rounded to 0.001. */
export function setMixWeight(id: string, w: number): void {
  update((s) => ({ weights: { ...s.weights, [id]: clampWeight(w) } }));
}

/** Sets several weights at once (the triangle pad, retrieval), each clamped as one slider would be. */
export function setMixWeights(w: Record<string, number>): void {
  update((s) => ({
    weights: {
      ...s.weights,
      ...Object.fromEntries(Object.entries(w).map(([k, v]) => [k, clampWeight(v)])),
    },
  }));
}

/** Moves a mixed state one place earlier (−1) or later (+1) in chunk order; at either end nothing changes. */
export function moveMixed(id: string, by: -1 | 1): void {
  update((s) => {
    const i = s.selected.indexOf(id);
    const j = i + by;
    if (i < 0 || j < 0 || j >= s.selected.length) return s;
    const selected = [...s.selected];
    [selected[i], selected[j]] = [selected[j]!, selected[i]!];
    return { selected };
  });
}

/** Replaces some settings as given (the operator's options, a preset, a share link). */
export function setMixOptions(p: MixOptions): void {
  update(p);
}

/** A state left the library: it is no longer mixed and its weight is dropped. */
export function forgetMixed(id: string): void {
  update((s) => {
    const weights = { ...s.weights };
    delete weights[id];
    return { selected: s.selected.filter((x) => x !== id), weights };
  });
}

/** Every setting, without the methods: the mix as data. */
export const selectMixSettings = (s: MixSettings): MixSettings => ({
  selected: s.selected,
  weights: s.weights,
  normalize: s.normalize,
  mode: s.mode,
  parts: s.parts,
  profile: s.profile,
});

/** The settings, re-rendering only when one of them changes (a shallow comparison of the fields). */
export function useMixSettings(): MixSettings {
  return useMixerStore(useShallow(selectMixSettings));
}

export function recipeOf(s: MixSettings): MixRecipe {
  return {
    sources: s.selected.map((key) => ({ key, weight: s.weights[key] ?? 0 })),
    mode: s.mode,
    normalize: s.normalize,
    parts: s.parts,
    profile: s.profile,
  };
}
