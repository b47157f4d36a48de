/**
 * The page's single engine worker and the actions that drive it: load a model, then (re)compute every
 * library state from its text. Components call these; results land in the stores.
 */
import { EngineClient, isAbort } from '../../worker/client.ts';
import type { ModelSource } from '../../worker/protocol.ts';
import { useLibraryStore, type LibraryEntry } from '../../stores/library.ts';
import { useModelStore, type Manifest, type ManifestEntry } from '../../stores/model.ts';
import { endRun, reportRun, startRun } from '../progress/runs.ts';

let client: EngineClient | undefined;

export function engine(): EngineClient {
  if (!client) {
    client = EngineClient.start();
    client.onFatal = (e) => useModelStore.getState().set({ status: 'lost', error: e.message });
  }
  return client;
}

export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export const MODELS_BASE = `${import.meta.env.BASE_URL}models`;

export async function fetchManifest(): Promise<Manifest> {
  const res = await fetch(`${MODELS_BASE}/manifest.json`);
  if (!res.ok || !(res.headers.get('content-type') ?? '').includes('json')) {
    throw new Error(
      'This build has no bundled model (models/manifest.json is missing). Choose local model files below.',
    );
  }
  return (await res.json()) as Manifest;
}

export function bundledSource(entry: ManifestEntry): ModelSource {
  // Absolute: the worker resolves URLs against its own script's address, not the page's.
  return {
    kind: 'bundled',
    modelsUrl: new URL(MODELS_BASE, window.location.href).href,
    folder: entry.folder,
    id: entry.id,
    ...(entry.files ? { files: entry.files } : {}),
  };
}

let loadSeq = 0;
/** The last model asked for, so recovery after a lost device reloads that one. */
let lastLoad: { source: ModelSource; entry?: ManifestEntry } | undefined;

export function reloadLastModel(): Promise<void> {
  return lastLoad ? loadModel(lastLoad.source, lastLoad.entry) : loadDefaultModel();
}

export async function loadModel(source: ModelSource, entry?: ManifestEntry): Promise<void> {
  const model = useModelStore.getState();
  const seq = ++loadSeq;
  lastLoad = { source, ...(entry ? { entry } : {}) };
  model.set({
    status: 'loading',
    error: undefined,
    info: undefined,
    entry,
    progress: { phase: 'Starting', done: 0, total: 1 },
  });
  try {
    const r = await engine().request(
      'loaded',
      { type: 'load', source, precision: model.precision },
      {
        lane: 'load',
        onProgress: (phase, done, total) =>
          useModelStore.getState().set({ progress: { phase, done, total } }),
      },
    );
    if (seq !== loadSeq) return;
    const info = entry ? { ...r.info, description: entry.description } : r.info;
    useModelStore.getState().set({ status: 'ready', info, progress: undefined });
    await captureAll();
  } catch (e) {
    if (isAbort(e) || seq !== loadSeq) return;
    useModelStore.getState().set({ status: 'error', error: errorText(e), progress: undefined });
  }
}

export async function loadDefaultModel(): Promise<void> {
  const model = useModelStore.getState();
  try {
    const manifest = await fetchManifest();
    const entry = manifest.models.find((m) => m.folder === manifest.default || m.id === manifest.default);
    if (!entry)
      throw new Error(`models/manifest.json names default "${manifest.default}" but lists no such model.`);
    model.set({ manifest });
    await loadModel(bundledSource(entry), entry);
  } catch (e) {
    model.set({ status: 'error', error: errorText(e) });
  }
}

/** Reads one entry's text into its state in the worker. */
export async function captureEntry(entry: LibraryEntry): Promise<void> {
  const lib = useLibraryStore.getState();
  lib.setStatus(entry.id, { kind: 'pending', done: 0, total: 1 });
  const run = captureRunKey(entry.id);
  const ticket = startRun(run);
  try {
    const r = await engine().request(
      'captured',
      {
        type: 'capture',
        key: entry.id,
        name: entry.name,
        text: entry.text,
        ...(entry.task ? { task: entry.task } : {}),
      },
      {
        // Its own lane, so a Cancel button can stop this one capture.
        lane: run,
        onProgress: (_p, done, total) => {
          reportRun(run, ticket, done, total);
          useLibraryStore.getState().setStatus(entry.id, { kind: 'pending', done, total });
        },
      },
    );
    useLibraryStore.getState().setTokenCount(entry.id, r.tokenCount);
    useLibraryStore
      .getState()
      .setStatus(entry.id, { kind: 'ready', fromStorage: r.fromStorage, warning: r.warning });
  } catch (e) {
    const message = isAbort(e)
      ? 'Cancelled before the state was computed; it is computed again when the page reloads, or delete it.'
      : errorText(e);
    useLibraryStore.getState().setStatus(entry.id, { kind: 'error', message });
  } finally {
    endRun(run, ticket);
  }
}

export const captureRunKey = (id: string) => `capture:${id}`;

/** Stops the capture of one entry (its Cancel button). */
export function cancelCapture(id: string): void {
  engine().cancelLane(captureRunKey(id));
}

/** After a (re)load, rebuilds every stored state from its text, oldest first. */
export async function captureAll(): Promise<void> {
  // A (re)load drops every state in the worker: none is ready again until it has been read (or taken from
  // storage), so nothing is asked of a state the worker no longer holds while the others are being rebuilt.
  const lib = useLibraryStore.getState();
  for (const e of lib.entries) lib.setStatus(e.id, { kind: 'pending', done: 0, total: 1 });
  for (const e of useLibraryStore.getState().entries) {
    if (useModelStore.getState().status !== 'ready') return;
    await captureEntry(e);
  }
}
