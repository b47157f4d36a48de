/**
 * The task suite the studies draw from: the loaded model's own tasks.json, or for a model without one the
 * bundled default model's (labelled so in the run record), as the command line does.
 */
import { useEffect, useState } from 'react';
import { useModelStore } from '../../stores/model.ts';
import { parseTaskSuite, type TaskSuite } from '../../studies/tasks.ts';
import { errorText, MODELS_BASE } from '../model/engine.ts';

const reads = new Map<string, Promise<TaskSuite>>();

function readSuite(url: string, label: string): Promise<TaskSuite> {
  let read = reads.get(url);
  if (!read) {
    read = fetch(url).then(async (r) => {
      if (!r.ok) throw new Error(`${label} could not be read (HTTP ${r.status}).`);
      return parseTaskSuite(await r.json(), label);
    });
    read.catch(() => reads.delete(url));
    reads.set(url, read);
  }
  return read;
}

export function useStudySuite(): { suite?: TaskSuite; label?: string; error?: string } {
  const entry = useModelStore((s) => s.entry);
  const manifest = useModelStore((s) => s.manifest);
  const modelId = useModelStore((s) => s.info?.id);
  const [got, setGot] = useState<{ suite?: TaskSuite; label?: string; error?: string }>({});

  useEffect(() => {
    const fallback = manifest?.models.find((m) => m.id === manifest.default || m.folder === manifest.default);
    const own = entry?.tasks && entry.id === modelId ? entry : undefined;
    const from = own ?? (fallback?.tasks ? fallback : undefined);
    if (!from?.tasks) return;
    const label = own ? `tasks.json of ${own.id}` : `the bundled suite (${from.folder}/${from.tasks})`;
    let live = true;
    readSuite(`${MODELS_BASE}/${from.folder}/${from.tasks}`, label)
      .then((suite) => live && setGot({ suite, label }))
      .catch((e: unknown) => live && setGot({ error: errorText(e) }));
    return () => {
      live = false;
    };
  }, [entry, manifest, modelId]);

  return got;
}
