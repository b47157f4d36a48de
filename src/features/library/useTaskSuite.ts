/**
 * The bundled model's task suite (its tasks.json), for the task presets and the stories: each file is read
 * once and shared, so the two panels wait on one request.
 */
import { useEffect, useState } from 'react';
import { useModelStore } from '../../stores/model.ts';
import { errorText, MODELS_BASE } from '../model/engine.ts';
import { parseTaskSuite, type TaskSuite } from './presets.ts';

const reads = new Map<string, Promise<TaskSuite>>();

export function readSuite(url: string): Promise<TaskSuite> {
  let read = reads.get(url);
  if (!read) {
    read = fetch(url).then(async (r) => {
      if (!r.ok) throw new Error(`The task examples (tasks.json) could not be read (HTTP ${r.status}).`);
      return parseTaskSuite(await r.json());
    });
    // A read that failed is tried again by the next panel that asks.
    read.catch(() => reads.delete(url));
    reads.set(url, read);
  }
  return read;
}

/** The current model's tasks file (undefined when it has none) and, once read, its suite or why not. */
export function useTaskSuite(): { tasksFile?: string; suite?: TaskSuite; error?: string } {
  const entry = useModelStore((s) => s.entry);
  const tasksFile = entry?.tasks;
  const [suite, setSuite] = useState<TaskSuite>();
  const [error, setError] = useState<string>();

  useEffect(() => {
    if (!entry || !tasksFile) return;
    let live = true;
    readSuite(`${MODELS_BASE}/${entry.folder}/${tasksFile}`)
      .then((s) => live && setSuite(s))
      .catch((e: unknown) => live && setError(errorText(e)));
    return () => {
      live = false;
    };
  }, [entry, tasksFile]);

  return { tasksFile, suite, error };
}
