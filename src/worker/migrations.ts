/**
 * Storage migrations: which saved state the worker may use for a loaded model, and how an older version's
 * tagging is brought up to date. States once carried the retired "s1-" weights fingerprint (legacy-s1.ts,
 * recomputed while the model streams in); one saved under this model's "s1-" value was made with these exact
 * weights, so it is re-tagged with the one weights hash and saved back instead of being lost or recomputed.
 */
import type { StoredState } from '../engine/states/types.ts';

/** The loaded weights, as saved states are matched against them. */
export interface LoadedWeights {
  modelId: string;
  weightsHash: string;
  /** The same weights' retired "s1-" fingerprint. */
  legacyHash: string;
}

export type Adoption =
  | { use: StoredState; saveBack: boolean }
  /** Another text, other weights: recompute from the text and leave the saved one as it is. */
  | undefined;

/** Whether the saved state `s` is the state of `text` under `weights`, re-tagged where an older version saved it. */
export function adoptSaved(s: StoredState, text: string, weights: LoadedWeights): Adoption {
  if (s.meta.text !== text) return undefined;
  if (s.meta.weightsHash === weights.weightsHash) return { use: s, saveBack: false };
  if (s.meta.modelId !== weights.modelId || s.meta.weightsHash !== weights.legacyHash) return undefined;
  return { use: { meta: { ...s.meta, weightsHash: weights.weightsHash }, state: s.state }, saveBack: true };
}
