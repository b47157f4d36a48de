/**
 * The lesson's two states, made once the model is ready (or reused from the library), from a bundled model's
 * task suite whatever model is loaded: the loaded bundled model's own tasks.json, else the manifest's default
 * model's (the bundled Mamba-2 shares the default's).
 */
import { useEffect, useMemo, useState } from 'react';
import { useLibraryStore } from '../../stores/library.ts';
import { bundledTasksOf } from '../../model/sources.ts';
import { useModelStore } from '../../stores/model.ts';
import { errorText, MODELS_BASE } from '../model/engine.ts';
import type { TaskSuite } from '../library/presets.ts';
import { readSuite } from '../library/useTaskSuite.ts';
import { ensureStoryState } from '../stories/apply.ts';
import { lessonSetup, type LessonSetup } from './lesson.ts';

export interface LessonStates {
  suite?: TaskSuite;
  setup?: LessonSetup;
  /** The library ids of the α = 0 and α = 1 states, once both are ready in the worker. */
  ids?: [string, string];
  /** The bundled model's manifest lists no task suite: the lesson cannot be made in this build. */
  noSuite: boolean;
  /** Whether the loaded model is a bundled one (either family): the lesson was made for their task suite. */
  bundled: boolean;
  error?: string;
}

export function useLessonStates(): LessonStates {
  const manifest = useModelStore((s) => s.manifest);
  const ready = useModelStore((s) => s.status === 'ready');
  const entry = useModelStore((s) => s.entry);
  const infoId = useModelStore((s) => s.info?.id);
  const [suite, setSuite] = useState<TaskSuite>();
  const [error, setError] = useState<string>();
  const status = useLibraryStore((s) => s.status);

  const from = bundledTasksOf(manifest, entry);
  const tasksUrl = from ? `${MODELS_BASE}/${from.folder}/${from.file}` : undefined;
  useEffect(() => {
    if (!tasksUrl) return;
    let live = true;
    readSuite(tasksUrl)
      .then((s) => live && setSuite(s))
      .catch((e: unknown) => live && setError(errorText(e)));
    return () => {
      live = false;
    };
  }, [tasksUrl]);

  const made = useMemo((): { setup?: LessonSetup; error?: string } => {
    if (!suite) return {};
    try {
      return { setup: lessonSetup(suite) };
    } catch (e) {
      return { error: errorText(e) };
    }
  }, [suite]);
  const setup = made.setup;

  // Made once the model is ready (a load drops the worker's states; captureAll then recomputes them).
  const [wanted, setWanted] = useState<{ model: string; ids: [string, string] }>();
  useEffect(() => {
    if (!ready || !suite || !setup || !infoId) return;
    const ids: [string, string] = [ensureStoryState(suite, setup.a), ensureStoryState(suite, setup.b)];
    queueMicrotask(() => setWanted({ model: infoId, ids }));
  }, [ready, suite, setup, infoId]);

  const mine = wanted && wanted.model === infoId ? wanted.ids : undefined;
  const both = mine && mine.every((id) => status[id]?.kind === 'ready') ? mine : undefined;
  const failed = mine
    ?.map((id) => status[id])
    .find((s): s is Extract<typeof s, { kind: 'error' }> => s?.kind === 'error');
  return {
    ...(suite ? { suite } : {}),
    ...(setup ? { setup } : {}),
    ...(both ? { ids: both } : {}),
    noSuite: manifest !== undefined && tasksUrl === undefined,
    bundled: entry !== undefined,
    ...(error || made.error || failed ? { error: error ?? made.error ?? failed!.message } : {}),
  };
}
