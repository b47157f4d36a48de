/**
 * Taking a recipe into the page and making one from it. Applying merges: states the library already has
 * (same name and text) are reused, others are added (a name clash gets a suffix), so opening a link or
 * importing a session never deletes what the user saved.
 */
import { newStateId } from '../../engine/states/types.ts';
import {
  addEntry,
  setEntryStatus,
  uniqueName,
  useLibraryStore,
  type LibraryEntry,
} from '../../stores/library.ts';
import { setMixOptions, useMixerStore } from '../../stores/mixer.ts';
import { useModelStore } from '../../stores/model.ts';
import { setSessionInputs, useSessionStore } from '../../stores/session.ts';
import { captureEntry } from '../model/engine.ts';
import { searchWithView, useNavigation } from '../views/navigation.ts';
import { matchEntries, type Recipe } from './recipe.ts';
import { restoreWork, snapshotWork, useUndoStore, type UndoPlace } from './undo.ts';

export function currentRecipe(): Recipe {
  const lib = useLibraryStore.getState();
  const mixer = useMixerStore.getState();
  const session = useSessionStore.getState();
  const used = lib.entries.filter((e) => e.text);
  return {
    model: useModelStore.getState().info?.id,
    states: used.map((e) => ({ name: e.name, text: e.text, ...(e.task ? { task: e.task } : {}) })),
    mixed: mixer.selected.map((id) => used.findIndex((e) => e.id === id)).filter((i) => i >= 0),
    weights: mixer.selected.filter((id) => used.some((e) => e.id === id)).map((id) => mixer.weights[id] ?? 0),
    mode: mixer.mode,
    normalize: mixer.normalize,
    parts: mixer.parts,
    profile: mixer.profile,
    sampling: session.sampling,
    query: session.query,
    evalText: session.evalText,
  };
}

/** Applies a checked recipe; returns the ids of the library entries it added. */
export function applyRecipe(recipe: Recipe): string[] {
  const lib = useLibraryStore.getState();
  const matched = matchEntries(recipe, lib.entries);
  const ids: string[] = [];
  const added: LibraryEntry[] = [];
  recipe.states.forEach((s, i) => {
    const hit = matched[i];
    if (hit) {
      ids.push(hit.id);
      return;
    }
    const entry: LibraryEntry = {
      id: newStateId(),
      name: uniqueName(s.name, [...useLibraryStore.getState().entries]),
      text: s.text,
      origin: 'text',
      task: s.task,
      createdAt: Date.now(),
    };
    addEntry(entry);
    added.push(entry);
    ids.push(entry.id);
  });
  const selected = recipe.mixed.map((i) => ids[i]!).filter((id) => id !== undefined);
  const weights = { ...useMixerStore.getState().weights };
  selected.forEach((id, i) => (weights[id] = recipe.weights[i] ?? 0));
  setMixOptions({
    selected,
    weights,
    mode: recipe.mode,
    normalize: recipe.normalize,
    parts: recipe.parts,
    profile: recipe.profile,
  });
  setSessionInputs({ query: recipe.query, evalText: recipe.evalText, sampling: recipe.sampling });
  if (useModelStore.getState().status === 'ready') {
    void (async () => {
      for (const e of added) await captureEntry(e);
    })();
  } else {
    for (const e of added) setEntryStatus(e.id, { kind: 'pending', done: 0, total: 1 });
  }
  return added.map((e) => e.id);
}

/** Applies a checked recipe and offers to undo it; `label` says what happened, for the Undo line. */
export function applyRecipeUndoably(recipe: Recipe, label: string, place: UndoPlace): void {
  const before = snapshotWork();
  const added = applyRecipe(recipe);
  useUndoStore.getState().offer(label, place, () => {
    restoreWork(before, added);
    // Else a reload would open the link again and undo the undo. A link without `?view=` opened the lab
    // because of its recipe; with the recipe gone the address names the view, so a reload stays there.
    if (place === 'link') {
      const search = searchWithView(window.location.search, useNavigation.getState().view);
      window.history.replaceState(null, '', window.location.pathname + search);
    }
  });
}
