/** One click makes k-shot task states from the bundled model's tasks.json (and held-out query and evaluation text). */
import { useState } from 'react';
import { newStateId } from '../../engine/states/types.ts';
import { addEntry, uniqueName, useLibraryStore, type LibraryEntry } from '../../stores/library.ts';
import { setMixOptions, useMixerStore } from '../../stores/mixer.ts';
import { useModelStore } from '../../stores/model.ts';
import { setSessionInputs } from '../../stores/session.ts';
import { captureEntry } from '../model/engine.ts';
import { heldOut, taskPrompts } from './presets.ts';
import { useTaskSuite } from './useTaskSuite.ts';
import { usePredictStore } from '../predict/predict.ts';
import { restoreWork, snapshotWork, useUndoStore } from '../share/undo.ts';
import { UndoNotice } from '../share/UndoNotice.tsx';

export function Presets() {
  const ready = useModelStore((s) => s.status === 'ready');
  const { tasksFile, suite, error } = useTaskSuite();
  const [picked, setTask] = useState('');
  const [shots, setShots] = useState(4);
  const [count, setCount] = useState(3);
  const task = picked || suite?.tasks[0]?.name || '';

  if (!tasksFile) return null;
  const make = () => {
    if (!suite) return;
    const prompts = taskPrompts(suite, task, shots, count);
    // The preset replaces the mix, query and evaluation text: keep what they were, for Undo.
    const before = snapshotWork();
    const made: LibraryEntry[] = prompts.map((text, i) => ({
      id: newStateId(),
      name: uniqueName(`${task} ${shots}-shot #${i + 1}`, useLibraryStore.getState().entries),
      text,
      origin: 'preset',
      task,
      createdAt: Date.now() + i,
    }));
    for (const e of made) addEntry(e);
    // Mix the new states equally and ask a held-out question of the task.
    setMixOptions({
      selected: made.map((e) => e.id),
      weights: {
        ...useMixerStore.getState().weights,
        ...Object.fromEntries(made.map((e) => [e.id, 1 / made.length])),
      },
      mode: 'weighted',
    });
    const { query, answer, evalText } = heldOut(suite, task);
    setSessionInputs({ query, evalText });
    // Predict-then-reveal compares with the task's answer while this query stands; a new guess starts empty.
    usePredictStore.getState().set({ expected: { query, answer, task }, guess: '', revealed: false });
    useUndoStore.getState().offer(`Made and mixed ${made.length} ${task} states.`, 'preset', () =>
      restoreWork(
        before,
        made.map((e) => e.id),
      ),
    );
    void (async () => {
      for (const e of made) await captureEntry(e);
    })();
  };

  return (
    <fieldset className="presets">
      <legend>Task presets (from the bundled model’s tasks.json)</legend>
      {error && <p className="error-text">{error}</p>}
      {suite && (
        <div className="row">
          <label>
            Task{' '}
            <select value={task} onChange={(e) => setTask(e.target.value)}>
              {suite.tasks.map((t) => (
                <option key={t.name} value={t.name} title={t.description}>
                  {t.name}
                </option>
              ))}
            </select>
          </label>
          <label>
            Shots{' '}
            <input
              type="number"
              min={1}
              max={32}
              value={shots}
              onChange={(e) => setShots(Math.max(1, Math.min(32, Math.round(Number(e.target.value)))))}
            />
          </label>
          <label>
            States{' '}
            <input
              type="number"
              min={1}
              max={8}
              value={count}
              onChange={(e) => setCount(Math.max(1, Math.min(8, Math.round(Number(e.target.value)))))}
            />
          </label>
          <button type="button" disabled={!ready || !task} onClick={make}>
            Make task states
          </button>
        </div>
      )}
      {suite && (
        <p className="hint">
          {suite.tasks.find((t) => t.name === task)?.description}. Makes {count} states of {shots} disjoint
          examples each, mixes them equally, and puts a held-out query and evaluation text in place.
        </p>
      )}
      <UndoNotice place="preset" />
    </fieldset>
  );
}
