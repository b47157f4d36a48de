/**
 * Exposes the state library (src/storage) to Playwright as window.soup.storage. Every call opens and closes
 * the database, so a test that reloads the page sees only what was really persisted. States are generated in
 * the page from a seed (storage tests need exact bits, not a model); results come back as plain JSON: metas,
 * tensors as arrays of their u32 bit patterns, files as base64. Also the facade's other two stores: the model
 * cache (Cache Storage) and localStorage with its full-disk flag.
 */
import {
  cachedModels,
  deleteCachedModel,
  localStorageFull,
  StateLibrary,
  STATE_DB_NAME,
  STORAGE_KEYS,
  storageStatus,
} from '../../storage/index.ts';
import { safeStateStorage } from '../../storage/local.ts';
import {
  layerStateSizes,
  type StateShape,
  type StoredState,
  type StateMeta,
} from '../../engine/states/types.ts';
import type { MambaState } from '../../engine/weights.ts';

export interface SeededState {
  id: string;
  name: string;
  modelId: string;
  weightsHash: string;
  seed: number;
  shape: StateShape;
  taskLabel?: string;
}

/** xorshift values in [−4, 4) with some ±0, the same for the same seed. */
function seededState(seed: number, shape: StateShape): MambaState {
  let x = seed >>> 0 || 1;
  const next = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const u = (x >>> 0) / 2 ** 32;
    return u < 0.05 ? -0 : (u - 0.5) * 8;
  };
  const fill = (n: number) => Float32Array.from({ length: n }, next);
  return {
    layers: Array.from({ length: shape.layers }, () => ({
      ssm: fill(layerStateSizes(shape).ssm),
      conv: fill(layerStateSizes(shape).conv),
      dtSum: fill(layerStateSizes(shape).dtSum),
    })),
  };
}

function stored(s: SeededState): StoredState {
  const meta: StateMeta = {
    id: s.id,
    name: s.name,
    modelId: s.modelId,
    weightsHash: s.weightsHash,
    shape: s.shape,
    text: `text of ${s.name}`,
    tokenIds: [1, 2, 3, s.seed],
    tokenCount: 4,
    createdAt: 1_764_000_000_000 + s.seed,
  };
  if (s.taskLabel) meta.taskLabel = s.taskLabel;
  return { meta, state: seededState(s.seed, s.shape) };
}

/** SHA-256 (hex) of a state's tensors, layer by layer: how large states are compared without shipping their bits. */
async function digestOf(s: MambaState): Promise<string> {
  const n = s.layers.reduce((a, l) => a + l.ssm.byteLength + l.conv.byteLength + l.dtSum.byteLength, 0);
  const all = new Uint8Array(n);
  let at = 0;
  for (const l of s.layers) {
    for (const a of [l.ssm, l.conv, l.dtSum]) {
      all.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), at);
      at += a.byteLength;
    }
  }
  const h = new Uint8Array(await crypto.subtle.digest('SHA-256', all));
  return Array.from(h, (b) => b.toString(16).padStart(2, '0')).join('');
}

function bitsOf(s: MambaState): number[][] {
  return s.layers.flatMap((l) =>
    [l.ssm, l.conv, l.dtSum].map((a) => Array.from(new Uint32Array(a.slice().buffer))),
  );
}

async function withLibrary<T>(db: string, fn: (lib: StateLibrary) => Promise<T>): Promise<T> {
  const lib = await StateLibrary.open(db);
  try {
    return await fn(lib);
  } finally {
    lib.close();
  }
}

function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

function fromBase64(b64: string): Uint8Array {
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

/** Runs fn and returns its value, or the error's class name and message (errors do not cross evaluate). */
async function result<T>(fn: () => Promise<T>): Promise<{ ok: T } | { error: string; message: string }> {
  try {
    return { ok: await fn() };
  } catch (e) {
    return { error: (e as Error).name, message: (e as Error).message };
  }
}

export function register(r: Record<string, unknown>) {
  r['storage'] = {
    defaultDb: STATE_DB_NAME,
    deleteDb: (db: string) =>
      new Promise<void>((resolve, reject) => {
        const req = indexedDB.deleteDatabase(db);
        req.onsuccess = () => resolve();
        req.onerror = () => reject(req.error);
      }),
    /** The bits a seeded state has, for comparison with what comes back from storage. */
    seededBits: (s: SeededState) => bitsOf(stored(s).state),
    save: (db: string, states: SeededState[]) =>
      result(() => withLibrary(db, (lib) => lib.saveMany(states.map(stored)))),
    list: (db: string, modelId: string, weightsHash: string) =>
      withLibrary(db, (lib) => lib.list(modelId, weightsHash)),
    models: (db: string) => withLibrary(db, (lib) => lib.models()),
    load: (db: string, id: string) =>
      result(() =>
        withLibrary(db, async (lib) => {
          const s = await lib.load(id);
          return { meta: s.meta, bits: bitsOf(s.state) };
        }),
      ),
    loadAll: (db: string, modelId: string, weightsHash: string) =>
      withLibrary(db, async (lib) =>
        (await lib.loadAll(modelId, weightsHash)).map((st) => ({ id: st.meta.id, bits: bitsOf(st.state) })),
      ),
    remove: (db: string, ids: string[]) => withLibrary(db, (lib) => lib.delete(ids)),
    exportFile: (db: string, ids: string[]) =>
      withLibrary(db, async (lib) => toBase64(await lib.exportFile(ids))),
    importFile: (
      db: string,
      b64: string,
      name: string,
      expect: { modelId: string; weightsHash: string; shape: StateShape },
    ) => result(() => withLibrary(db, (lib) => lib.importFile(fromBase64(b64), name, expect))),
    estimate: () => storageStatus(),
    /** The digest of a seeded state's tensors (for states too large to compare as bit arrays). */
    seededDigest: (s: SeededState) => digestOf(stored(s).state),
    /**
     * Large states end to end inside the page: save the seeded states to `db`, load them back, export them to a
     * file and import it into `into` for `expect`; returns each step's milliseconds, the file's size and the
     * digests of what `into` then holds (nothing crosses to the test but numbers and hashes).
     */
    largeRoundTrip: (
      db: string,
      into: string,
      states: SeededState[],
      expect: { modelId: string; weightsHash: string; shape: StateShape },
    ) =>
      result(async () => {
        const t = () => performance.now();
        const ms: Record<string, number> = {};
        let t0 = t();
        const made = states.map(stored);
        ms['make'] = t() - t0;
        t0 = t();
        await withLibrary(db, (lib) => lib.saveMany(made));
        ms['save'] = t() - t0;
        t0 = t();
        const ids = states.map((s) => s.id);
        await withLibrary(db, (lib) => lib.loadMany(ids));
        ms['load'] = t() - t0;
        t0 = t();
        const file = await withLibrary(db, (lib) => lib.exportFile(ids));
        ms['export'] = t() - t0;
        t0 = t();
        await withLibrary(into, (lib) => lib.importFile(file, 'large.safetensors', expect));
        ms['import'] = t() - t0;
        const back = await withLibrary(into, (lib) => lib.loadMany(ids));
        return {
          ms,
          fileBytes: file.byteLength,
          digests: await Promise.all(back.map((b) => digestOf(b.state))),
        };
      }),
    /** Puts files of `model` into the real model cache with the headers a finished download leaves. */
    async seedModelCache(model: string, files: { name: string; bytes: number }[]) {
      const cache = await caches.open(STORAGE_KEYS.modelCache);
      for (const f of files) {
        const headers = { 'x-soup-model': model, 'x-soup-file': f.name, 'x-soup-size': String(f.bytes) };
        await cache.put(
          `${location.origin}/e2e-cache/${model}/${f.name}`,
          new Response(new Uint8Array(f.bytes), { headers }),
        );
      }
    },
    clearModelCache: () => caches.delete(STORAGE_KEYS.modelCache),
    cachedModels: () => cachedModels(),
    deleteCachedModel: (model: string) => deleteCachedModel(model),
    /**
     * Writes `value` (or `repeat` copies of it) under `key` through the facade's localStorage wrapper; returns
     * whether the write threw, the length of what localStorage then holds, and the full-disk flag's message.
     */
    localWrite(key: string, value: string, repeat = 1) {
      let threw: string | undefined;
      try {
        safeStateStorage().setItem(key, value.repeat(repeat));
      } catch (e) {
        threw = (e as Error).name;
      }
      return {
        threw,
        kept: localStorage.getItem(key)?.length ?? null,
        full: localStorageFull()?.message ?? null,
      };
    },
    localRemove: (key: string) => localStorage.removeItem(key),
  };
}
