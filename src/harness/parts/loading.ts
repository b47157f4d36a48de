/**
 * Model loading in real Chromium, for e2e/loading.spec.ts: load a checkpoint from a hub URL (the test's local
 * hub server) through the real Cache Storage into the real WebGPU engine, and report what happened as plain
 * data (files and whether each came from the cache, progress figures, a hash of every tensor, logits for
 * given tokens). Also the cache view: list, delete, storage estimate, persist.
 */
import { openDevice, type EngineDevice } from '../../engine/gpu/device.ts';
import { openEngine } from '../../engine/open.ts';
import { openModelCache } from '../../model/cache.ts';
import type { LoadProgress, PrecisionChoice } from '../../model/loader.ts';
import { directoryHandleSource, filesSource, hubSource, type ModelSource } from '../../model/sources.ts';
import {
  cachedModels,
  deleteCachedModel,
  requestPersistentStorage,
  storageStatus,
} from '../../storage/index.ts';

export interface LoadRequest {
  precision?: PrecisionChoice;
  /** Token sequences to run through the loaded engine; their logits come back. */
  sequences?: Record<string, number[]>;
  /** Abort once this many bytes of weights have arrived (tests cancel). */
  abortAfterBytes?: number;
}

export interface HubLoadRequest extends LoadRequest {
  hubUrl: string;
  repo: string;
  revision?: string;
}

/** FNV-1a over a tensor's f32 bytes: equal hashes mean bit-identical tensors. */
function fnv1a(data: Float32Array): string {
  const b = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  let h = 0x811c9dc5;
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i]!, 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

let dev: EngineDevice | undefined;

function loadFromHub(req: HubLoadRequest) {
  // No cache passed: the default, the browser's Cache Storage, is what the app gets too.
  return runLoad(
    hubSource({ repo: req.repo, revision: req.revision, hubUrl: req.hubUrl, retryDelayMs: 50 }),
    req,
  );
}

/** Files chosen in an <input type=file> (Playwright's setInputFiles), as from the app's file picker. */
function loadFromPicked(selector: string, req: LoadRequest) {
  const input = document.querySelector<HTMLInputElement>(selector)!;
  return runLoad(filesSource(Array.from(input.files ?? []), 'picked files'), req);
}

/** A folder in the origin-private file system: a real FileSystemDirectoryHandle, as from showDirectoryPicker. */
async function loadFromOpfs(folder: string, req: LoadRequest) {
  const root = await navigator.storage.getDirectory();
  return runLoad(directoryHandleSource(await root.getDirectoryHandle(folder)), req);
}

async function writeOpfs(folder: string, files: Record<string, string>) {
  const root = await navigator.storage.getDirectory();
  const dir = await root.getDirectoryHandle(folder, { create: true });
  for (const [name, b64] of Object.entries(files)) {
    const w = await (await dir.getFileHandle(name, { create: true })).createWritable();
    await w.write(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)));
    await w.close();
  }
}

async function runLoad(source: ModelSource, req: LoadRequest) {
  dev ??= await openDevice(navigator.gpu);
  const cache = await openModelCache();
  const progress: LoadProgress[] = [];
  const ctl = new AbortController();
  let sinks = 0;
  let destroyed = 0;
  const hashes: Record<string, string> = {};
  try {
    const loaded = await openEngine(source, {
      device: dev,
      tokenizer: false,
      precision: req.precision,
      signal: ctl.signal,
      progressIntervalMs: 0,
      onProgress: (p) => {
        progress.push(p);
        if (req.abortAfterBytes !== undefined && p.overallLoaded >= req.abortAfterBytes) ctl.abort();
      },
      observe: {
        created: () => void sinks++,
        tensor: (name, data) => void (hashes[name] = fnv1a(data)),
        destroyed: () => void destroyed++,
      },
    });
    const logits: Record<string, number[]> = {};
    const model = loaded.engine;
    for (const [name, tokens] of Object.entries(req.sequences ?? {})) {
      const state = model.createState();
      logits[name] = Array.from((await model.prefill(state, tokens, { logits: 'all' }))!);
      state.destroy();
    }
    model.destroy();
    const weights = progress.filter((p) => p.phase === 'weights');
    return {
      ok: true as const,
      cacheAvailable: cache !== undefined,
      files: loaded.files,
      precision: loaded.precision,
      checkpointDtype: loaded.checkpointDtype,
      warnings: loaded.warnings,
      hashes,
      logits,
      progress: {
        events: weights.length,
        last: weights[weights.length - 1],
        maxSpeed: Math.max(0, ...weights.map((p) => p.bytesPerSecond)),
        anyTimeLeft: weights.some((p) => p.secondsLeft !== undefined),
        monotonic: weights.every((p, i) => i === 0 || p.overallLoaded >= weights[i - 1]!.overallLoaded),
        phases: [...new Set(progress.map((p) => p.phase))],
      },
    };
  } catch (e) {
    const err = e as Error;
    return { ok: false as const, name: err.name, message: err.message, sinks, destroyed };
  }
}

export function register(r: Record<string, unknown>) {
  r['loading'] = {
    loadFromHub,
    loadFromPicked,
    loadFromOpfs,
    writeOpfs,
    async cacheList() {
      return (await cachedModels()) ?? [];
    },
    cacheDelete: deleteCachedModel,
    storage: storageStatus,
    persist: requestPersistentStorage,
  };
}
