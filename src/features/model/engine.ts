/**
 * The page's single engine worker and the actions that drive it: load a model, then (re)compute every
 * library state from its text. Components call these; results land in the stores.
 */
import { EngineClient, isAbort } from '../../worker/client.ts';
import type { ModelSource } from '../../worker/protocol.ts';
import {
  setEntryStatus,
  setEntryTokenCount,
  useLibraryStore,
  type LibraryEntry,
} from '../../stores/library.ts';
import {
  manifestRead,
  modelFailed,
  modelLoading,
  modelLost,
  modelProgressed,
  modelReady,
  useModelStore,
} from '../../stores/model.ts';
import {
  fetchBundledManifest,
  pickBundledModel,
  type BundledManifest,
  type BundledModel,
} from '../../model/sources.ts';
import { endRun, reportRun, startRun } from '../progress/runs.ts';

let client: EngineClient | undefined;

export function engine(): EngineClient {
  if (!client) {
    client = EngineClient.start();
    client.onFatal = (e) => modelLost(e.message);
  }
  return client;
}

export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export const MODELS_BASE = `${import.meta.env.BASE_URL}models`;

export function fetchManifest(): Promise<BundledManifest> {
  return fetchBundledManifest(MODELS_BASE);
}

export function bundledSource(entry: BundledModel): ModelSource {
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
let lastLoad: { source: ModelSource; entry?: BundledModel } | undefined;

export function reloadLastModel(): Promise<void> {
  return lastLoad ? loadModel(lastLoad.source, lastLoad.entry) : loadDefaultModel();
}

export async function loadModel(source: ModelSource, entry?: BundledModel): Promise<void> {
  const { precision } = useModelStore.getState();
  const seq = ++loadSeq;
  lastLoad = { source, ...(entry ? { entry } : {}) };
  modelLoading(entry);
  try {
    const r = await engine().request(
      'loaded',
      { type: 'load', source, precision },
      {
        lane: 'load',
        onProgress: modelProgressed,
      },
    );
    if (seq !== loadSeq) return;
    const info = entry?.description !== undefined ? { ...r.info, description: entry.description } : r.info;
    modelReady(info);
    await captureAll();
  } catch (e) {
    if (isAbort(e) || seq !== loadSeq) return;
    modelFailed(errorText(e));
  }
}

/** The page address's `?model=`: a bundled model's id or folder, for links straight to one of them. */
export const MODEL_PARAM = 'model';

/**
 * Loads a bundled model: `wanted` (a share link's model), else the one `?model=` names, else the manifest's
 * default. A `?model=` this build does not bundle loads the default and says so.
 */
export async function loadDefaultModel(wanted?: string): Promise<void> {
  try {
    const manifest = await fetchManifest();
    const fromUrl = new URLSearchParams(window.location.search).get(MODEL_PARAM) ?? undefined;
    const byLink =
      wanted !== undefined && manifest.models.some((m) => m.id === wanted || m.folder === wanted);
    const picked = pickBundledModel(manifest, byLink ? wanted : fromUrl, 'models/manifest.json');
    const names = manifest.models.map((m) => m.id).join(', ');
    manifestRead(
      manifest,
      picked.unknown
        ? `This build bundles no model "${picked.unknown}" (?${MODEL_PARAM}=), so the default ${picked.entry.id} is loaded; it bundles ${names}.`
        : undefined,
    );
    await loadModel(bundledSource(picked.entry), picked.entry);
  } catch (e) {
    modelFailed(errorText(e));
  }
}

/**
 * The chooser's bundled models: the address keeps `?model=` for any but the default, so a reload (or a link
 * copied from the address bar) opens the same model.
 */
export function loadBundledModel(entry: BundledModel, manifest: BundledManifest): Promise<void> {
  const u = new URL(window.location.href);
  if (entry.id === manifest.default || entry.folder === manifest.default) u.searchParams.delete(MODEL_PARAM);
  else u.searchParams.set(MODEL_PARAM, entry.id);
  if (u.href !== window.location.href) window.history.replaceState(window.history.state, '', u.toString());
  return loadModel(bundledSource(entry), entry);
}

/** Reads one entry's text into its state in the worker. */
export async function captureEntry(entry: LibraryEntry): Promise<void> {
  setEntryStatus(entry.id, { kind: 'pending', done: 0, total: 1 });
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
          setEntryStatus(entry.id, { kind: 'pending', done, total });
        },
      },
    );
    setEntryTokenCount(entry.id, r.tokenCount);
    setEntryStatus(entry.id, { kind: 'ready', fromStorage: r.fromStorage, warning: r.warning });
  } catch (e) {
    const message = isAbort(e)
      ? 'Cancelled before the state was computed; it is computed again when the page reloads, or delete it.'
      : errorText(e);
    setEntryStatus(entry.id, { kind: 'error', message });
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
