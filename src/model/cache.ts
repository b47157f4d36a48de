/**
 * Downloaded model files kept in Cache Storage, so a reload (even offline) loads from disk. This module keeps:
 * one entry per file URL in the cache named MODEL_CACHE_NAME, each with headers x-soup-model (the checkpoint it
 * belongs to, e.g. "state-spaces/mamba-130m-hf@main"), x-soup-file and x-soup-size. A file is stored only
 * after it was read completely and parsed without error: a download that fails, is cancelled or turns out
 * corrupt leaves nothing behind. A full disk (QuotaExceededError) becomes a warning: loading goes on without
 * the cache.
 */

export const MODEL_CACHE_NAME = 'soup-models-v1';

export const QUOTA_MESSAGE =
  "The browser's storage is full, so this model was loaded but not saved for offline use. Delete cached models or states in the Storage panel (or free disk space) and load it again to keep it.";

/** The part of the Cache interface the loader uses (the browser's Cache, or an in-memory one in tests). */
export interface CacheLike {
  match(url: string): Promise<Response | undefined>;
  put(url: string, response: Response): Promise<void>;
  delete(url: string): Promise<boolean>;
  keys(): Promise<readonly Request[]>;
}

/** The browser's model cache, or undefined where Cache Storage is missing (Node, insecure origins). */
export async function openModelCache(): Promise<CacheLike | undefined> {
  if (typeof caches === 'undefined') return undefined;
  try {
    return await caches.open(MODEL_CACHE_NAME);
  } catch {
    return undefined; // e.g. storage disabled by the user: load without caching
  }
}

export function isQuotaError(e: unknown): boolean {
  const name = typeof e === 'object' && e !== null ? (e as { name?: unknown }).name : undefined;
  return name === 'QuotaExceededError' || (e instanceof DOMException && e.code === 22);
}

export interface CacheWriter {
  /** The body to read instead of the original; every byte read is also written to the cache. */
  body: ReadableStream<Uint8Array>;
  /** Call after the file was read to its end and validated: stores it. Resolves to a warning, if any. */
  commit(): Promise<string | undefined>;
  /** Call on any failure: nothing is stored. */
  abort(reason?: unknown): void;
}

/**
 * Wraps `source` so that every byte read from it is also written to the cache under `url`. The cache's copy
 * is only closed by commit(); abort() errors it, so Cache.put rejects and keeps nothing (a truncated or corrupt
 * file never becomes a cached one).
 */
export function teeIntoCache(
  source: ReadableStream<Uint8Array>,
  cache: CacheLike,
  url: string,
  meta: { model: string; file: string; size?: number },
): CacheWriter {
  let copy: ReadableStreamDefaultController<Uint8Array> | undefined;
  let copyAlive = true;
  const copyStream = new ReadableStream<Uint8Array>({
    start(c) {
      copy = c;
    },
    cancel() {
      copyAlive = false;
    },
  });
  const headers = new Headers({
    'content-type': 'application/octet-stream',
    'x-soup-model': meta.model,
    'x-soup-file': meta.file,
    'x-soup-stored': new Date().toISOString(),
  });
  if (meta.size !== undefined) headers.set('x-soup-size', String(meta.size));
  let failure: unknown;
  const put = cache.put(url, new Response(copyStream, { headers })).catch((e: unknown) => {
    copyAlive = false;
    failure = e;
  });
  const upstream = source.getReader();
  return {
    body: new ReadableStream<Uint8Array>({
      async pull(controller) {
        const { done, value } = await upstream.read();
        if (done) {
          controller.close();
          return;
        }
        if (copyAlive) {
          try {
            // A copy: the consumer may hand the same bytes to the GPU and drop them.
            copy!.enqueue(value.slice());
          } catch {
            copyAlive = false;
          }
        }
        controller.enqueue(value);
      },
      cancel(reason) {
        return upstream.cancel(reason);
      },
    }),
    async commit() {
      if (copyAlive) copy!.close();
      await put;
      if (failure === undefined) return undefined;
      if (isQuotaError(failure)) return QUOTA_MESSAGE;
      const detail = failure instanceof Error ? failure.message : String(failure);
      return `The model was loaded but could not be saved for offline use (${detail}).`;
    },
    abort(reason) {
      if (!copyAlive) return;
      copyAlive = false;
      try {
        copy!.error(reason ?? new Error('download abandoned'));
      } catch {
        /* already closed */
      }
    },
  };
}

export interface CachedFile {
  url: string;
  file: string;
  bytes: number;
  stored: string;
}

export interface CachedModel {
  /** The checkpoint, e.g. "state-spaces/mamba-130m-hf@main" or "bundled:mamba-tiny". */
  model: string;
  bytes: number;
  files: CachedFile[];
}

/** What the model cache holds, grouped by checkpoint, largest first. */
export async function listCachedModels(cache: CacheLike): Promise<CachedModel[]> {
  const groups = new Map<string, CachedModel>();
  for (const req of await cache.keys()) {
    const res = await cache.match(req.url);
    if (!res) continue;
    const model = res.headers.get('x-soup-model') ?? 'unknown';
    const sizeHeader = res.headers.get('x-soup-size');
    // Without a recorded size (the server sent no content-length), a Blob of the entry is disk-backed and cheap.
    const bytes = sizeHeader !== null ? Number(sizeHeader) : (await res.clone().blob()).size;
    const f: CachedFile = {
      url: req.url,
      file: res.headers.get('x-soup-file') ?? req.url,
      bytes,
      stored: res.headers.get('x-soup-stored') ?? '',
    };
    await res.body?.cancel().catch(() => undefined);
    const g = groups.get(model) ?? { model, bytes: 0, files: [] };
    g.bytes += bytes;
    g.files.push(f);
    groups.set(model, g);
  }
  return [...groups.values()].sort((a, b) => b.bytes - a.bytes);
}

/** Deletes every cached file of `model`; returns how many were removed. */
export async function deleteCachedModel(cache: CacheLike, model: string): Promise<number> {
  let n = 0;
  for (const m of await listCachedModels(cache)) {
    if (m.model !== model) continue;
    for (const f of m.files) if (await cache.delete(f.url)) n++;
  }
  return n;
}
