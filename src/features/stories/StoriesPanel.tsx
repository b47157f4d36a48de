/**
 * Stories: guided walks through what the bundled model does with states, a few steps each. A step says what to
 * look at; its button makes the states it needs (the task presets' prompts, reused when the library has them),
 * sets the mix and the query, and leaves dragging and generating to the user. Shown in presenter mode too.
 */
import { useState } from 'react';
import { newStateId } from '../../engine/states/types.ts';
import { uniqueName, useLibraryStore, type LibraryEntry } from '../../stores/library.ts';
import { useMixerStore } from '../../stores/mixer.ts';
import { useModelStore } from '../../stores/model.ts';
import { useSessionStore } from '../../stores/session.ts';
import { captureEntry, errorText } from '../model/engine.ts';
import type { TaskSuite } from '../library/presets.ts';
import { useTaskSuite } from '../library/useTaskSuite.ts';
import {
  STORIES,
  storyStateName,
  storyStateText,
  type Story,
  type StoryState,
  type StoryStep,
} from './stories.ts';

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

export function StoriesPanel() {
  const ready = useModelStore((s) => s.status === 'ready');
  const { tasksFile, suite, error: suiteError } = useTaskSuite();
  const [stepError, setStepError] = useState<string>();
  const [storyId, setStoryId] = useState(STORIES[0]!.id);
  const [at, setAt] = useState(0);
  const error = suiteError ?? stepError;

  // The stories are written for the bundled model's tasks; other models have no tasks.json.
  if (!tasksFile) return null;
  const story = STORIES.find((s) => s.id === storyId) ?? STORIES[0]!;
  const step = story.steps[at]!;
  const last = story.steps.length - 1;
  const setUp = () => {
    if (!suite) return;
    try {
      applyStep(suite, story, step);
      setStepError(undefined);
    } catch (e) {
      setStepError(errorText(e));
    }
  };

  return (
    <section className="panel stories" aria-labelledby="stories-title">
      <h2 id="stories-title">Stories</h2>
      <label className="field">
        <span>Story</span>
        <select
          aria-label="Story"
          value={story.id}
          onChange={(e) => {
            setStoryId(e.target.value);
            setAt(0);
          }}
        >
          {STORIES.map((s) => (
            <option key={s.id} value={s.id}>
              {s.title}
            </option>
          ))}
        </select>
      </label>
      <p className="hint">{story.summary}</p>
      <ol className="story-steps" aria-label="Story steps">
        {story.steps.map((s, i) => (
          <li key={s.title}>
            <button
              type="button"
              className="story-step-link"
              aria-current={i === at ? 'step' : undefined}
              onClick={() => setAt(i)}
            >
              {s.title}
            </button>
          </li>
        ))}
      </ol>
      <div className="story-step" role="group" aria-label={`Step ${at + 1} of ${last + 1}: ${step.title}`}>
        <h3>
          Step {at + 1} of {last + 1}: {step.title}
        </h3>
        <p>{step.look}</p>
        <p>
          <strong>What you should see:</strong> {step.expect}
        </p>
        <div className="row">
          <button type="button" onClick={() => setAt(at - 1)} disabled={at === 0}>
            Back
          </button>
          <button type="button" onClick={setUp} disabled={!ready || !suite}>
            Set up this step
          </button>
          <button type="button" onClick={() => setAt(at + 1)} disabled={at === last}>
            Next
          </button>
        </div>
      </div>
      {error && <p className="error-text">{error}</p>}
    </section>
  );
}
