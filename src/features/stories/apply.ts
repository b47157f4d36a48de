/**
 * Setting the playground up for a story step: the states it needs (the task presets' prompts, reused when the
 * library has them), the lab's mix, the query and the evaluation text. The lesson's steps run from here.
 */
import { newStateId } from '../../engine/states/types.ts';
import { uniqueName, useLibraryStore, type LibraryEntry } from '../../stores/library.ts';
import { useMixerStore } from '../../stores/mixer.ts';
import { useSessionStore } from '../../stores/session.ts';
import { captureEntry } from '../model/engine.ts';
import type { TaskSuite } from '../library/presets.ts';
import { storyStateName, storyStateText, type Story, type StoryState, type StoryStep } from './stories.ts';

/**
 * The library entry holding a story state's text: reused when the library has it (recomputed if computing it
 * had failed), otherwise added and computed. Returns its id.
 */
export function ensureStoryState(suite: TaskSuite, s: StoryState): string {
  const text = storyStateText(suite, s);
  const lib = useLibraryStore.getState();
  const have = lib.entries.find((e) => e.text === text);
  if (have) {
    if (lib.status[have.id]?.kind === 'error') void captureEntry(have);
    return have.id;
  }
  const entry: LibraryEntry = {
    id: newStateId(),
    name: uniqueName(storyStateName(s), lib.entries),
    text,
    origin: 'preset',
    ...('task' in s ? { task: s.task } : {}),
    createdAt: Date.now(),
  };
  lib.add(entry);
  void captureEntry(entry);
  return entry.id;
}

/** Sets the playground up for one step: its states (made once, then reused), the mix and the query. */
export function applyStep(suite: TaskSuite, story: Story, step: StoryStep): void {
  const ids = step.mix.map(({ state: k }) => ensureStoryState(suite, story.states[k]!));
  const mixer = useMixerStore.getState();
  mixer.set({
    selected: ids,
    weights: { ...mixer.weights, ...Object.fromEntries(step.mix.map((m, i) => [ids[i]!, m.weight])) },
    // The stories are about the paper's operator: a weighted sum of the whole state, the same at every layer.
    mode: 'weighted',
    normalize: false,
    parts: { ssm: true, conv: true },
    profile: 'uniform',
  });
  useSessionStore.getState().set({
    ...(step.query !== undefined ? { query: step.query } : {}),
    ...(step.evalText !== undefined ? { evalText: step.evalText } : {}),
  });
}
