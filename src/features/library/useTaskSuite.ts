/**
 * The bundled model's task suite (its tasks.json, or the default model's for a bundled model without one), for
 * the task presets and the stories: each file is read once and shared, so the two panels wait on one request.
 */
import { useEffect, useState } from 'react';
import { bundledTasksOf } from '../../model/sources.ts';
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
  const manifest = useModelStore((s) => s.manifest);
  // A bundled model without its own suite (the Mamba-2) has the default model's presets; a hub model none.
  const where = entry ? bundledTasksOf(manifest, entry) : undefined;
  const tasksFile = where?.file;
  const url = where ? `${MODELS_BASE}/${where.folder}/${where.file}` : undefined;
  const [suite, setSuite] = useState<TaskSuite>();
  const [error, setError] = useState<string>();

  useEffect(() => {
    if (!url) return;
    let live = true;
    readSuite(url)
      .then((s) => live && setSuite(s))
      .catch((e: unknown) => live && setError(errorText(e)));
    return () => {
      live = false;
    };
  }, [url]);

  return { tasksFile, suite, error };
}
