/**
 * Where a checkpoint's files come from. Every source answers the same question, "open this file as a byte
 * stream", so the loader is one piece of code for the hub, the app's bundled folder, files a user picked or
 * dropped, and (src/model/node.ts) a folder on disk. HTTP sources read through the model cache first and fill
 * it as they download.
 */
import { DownloadError } from './errors.ts';
import { download, type FetchLike } from './download.ts';
import { openModelCache, teeIntoCache, type CacheLike } from './cache.ts';
import type { ByteChunks } from './stream.ts';
import { familyLabel, type ModelFamily } from './family.ts';

export interface OpenedFile {
  body: ByteChunks;
  /** The size when known in advance (content-length, File.size). */
  size: number | undefined;
  fromCache: boolean;
  /** Call once the file was read to its end and validated (stores a download in the cache). */
  commit(): Promise<string | undefined>;
  /** Call on failure: discards any partial cache copy and releases the stream. */
  abort(reason?: unknown): void;
  /** Removes a cached copy (after it proved corrupt), so loading again starts clean. */
  evict?(): Promise<void>;
}

export interface OpenOptions {
  signal?: AbortSignal;
}

export interface ModelSource {
  /** Names the checkpoint in messages and groups its files in the cache (e.g. "org/repo@main"). */
  readonly id: string;
  /** Prefix for file names in messages: a URL folder, a repo, a directory path. */
  label(file: string): string;
  /** Opens `file`; throws DownloadError with failure 'not-found' when the checkpoint lacks it. */
  open(file: string, opts?: OpenOptions): Promise<OpenedFile>;
  /** Whether `file` is in the local cache (lets the loader choose single-file vs sharded while offline). */
  isCached?(file: string): Promise<boolean>;
}

export interface HttpSourceOptions {
  fetch?: FetchLike;
  /**
   * Where downloads are kept. undefined (default): the browser's Cache Storage where it exists (none in Node);
   * false: no caching.
   */
  cache?: CacheLike | false;
  retries?: number;
  retryDelayMs?: number;
  /**
   * 'cache' (default): a cached file is used without asking the server (hub revisions rarely change and
   * files are large). 'network': the server is asked first and the cache is the offline fallback (the app's
   * bundled model, which changes when the app is updated; the browser's HTTP cache keeps that cheap).
   */
  prefer?: 'cache' | 'network';
}

/** A folder served over HTTP: `${baseUrl}/${file}`. */
export function httpSource(id: string, baseUrl: string, opts: HttpSourceOptions = {}): ModelSource {
  const base = baseUrl.replace(/\/+$/, '');
  const urlOf = (file: string) => `${base}/${file.split('/').map(encodeURIComponent).join('/')}`;
  const label = (file: string) => `${id}/${file}`;
  let cacheP: Promise<CacheLike | undefined> | undefined;
  const getCache = () =>
    (cacheP ??=
      opts.cache === false
        ? Promise.resolve(undefined)
        : opts.cache
          ? Promise.resolve(opts.cache)
          : openModelCache());
  return {
    id,
    label,
    async isCached(file) {
      const cache = await getCache();
      if (!cache) return false;
      const hit = await cache.match(urlOf(file));
      await hit?.body?.cancel().catch(() => undefined);
      return hit !== undefined;
    },
    async open(file, o = {}) {
      const url = urlOf(file);
      const cache = await getCache();
      const evict = cache ? async () => void (await cache.delete(url)) : undefined;
      const fromCache = async (): Promise<OpenedFile | undefined> => {
        const hit = await cache?.match(url);
        if (!hit?.body) return undefined;
        const size = hit.headers.get('x-soup-size');
        return {
          body: hit.body,
          size: size !== null ? Number(size) : undefined,
          fromCache: true,
          commit: async () => undefined,
          abort: (r) => void hit.body?.cancel(r).catch(() => undefined),
          evict,
        };
      };
      if (opts.prefer !== 'network') {
        const hit = await fromCache();
        if (hit) return hit;
      }
      let dl: Awaited<ReturnType<typeof download>>;
      try {
        dl = await download(url, {
          file: label(file),
          fetch: opts.fetch,
          signal: o.signal,
          retries: opts.prefer === 'network' ? 0 : opts.retries,
          retryDelayMs: opts.retryDelayMs,
        });
      } catch (e) {
        // Network first, cache when offline (or the server is down).
        const offline = e instanceof DownloadError && (e.failure === 'network' || e.failure === 'http');
        const hit = opts.prefer === 'network' && offline ? await fromCache() : undefined;
        if (hit) return hit;
        throw e;
      }
      if (!cache) {
        return {
          body: dl.body,
          size: dl.size,
          fromCache: false,
          commit: async () => undefined,
          abort: (r) => void dl.body.cancel(r).catch(() => undefined),
        };
      }
      const w = teeIntoCache(dl.body, cache, url, { model: id, file, size: dl.size });
      return {
        body: w.body,
        size: dl.size,
        fromCache: false,
        commit: () => w.commit(),
        abort: (r) => {
          w.abort(r);
          w.body.cancel(r).catch(() => undefined);
        },
        evict,
      };
    },
  };
}

export const DEFAULT_HUB_URL = 'https://huggingface.co';

export interface HubSourceOptions extends HttpSourceOptions {
  repo: string;
  revision?: string;
  /** The hub's base URL; tests point it at a local server. */
  hubUrl?: string;
}

const REPO_ID = /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/;

/** A repo on the Hugging Face hub: `${hubUrl}/${repo}/resolve/${revision}/${file}`. */
export function hubSource(o: HubSourceOptions): ModelSource {
  const repo = o.repo.trim();
  if (!REPO_ID.test(repo)) {
    throw new DownloadError(
      `"${o.repo}" is not a hub repo id; write it as owner/name, for example state-spaces/mamba-130m-hf.`,
      'not-found',
      repo,
    );
  }
  const revision = (o.revision ?? 'main').trim() || 'main';
  const hub = (o.hubUrl ?? DEFAULT_HUB_URL).replace(/\/+$/, '');
  return httpSource(`${repo}@${revision}`, `${hub}/${repo}/resolve/${encodeURIComponent(revision)}`, o);
}

/** A model folder shipped with the app under public/models (see public/models/manifest.json). */
export function bundledSource(folder: string, modelsUrl: string, opts: HttpSourceOptions = {}): ModelSource {
  return httpSource(`bundled:${folder}`, `${modelsUrl.replace(/\/+$/, '')}/${folder}`, {
    prefer: 'network',
    ...opts,
  });
}

/** One model of public/models/manifest.json (the file has more fields; these are the ones read). */
export interface BundledModel {
  id: string;
  folder: string;
  /** What people call it ("State Soup Mamba-2 4.5M"); the id where absent. */
  name?: string;
  /** config.json's model_type: "mamba" (Mamba-1) or "mamba2"; entries written before Mamba-2 have none. */
  architecture?: string;
  description?: string;
  /** A count, or a label such as "0.1M". */
  parameters?: number | string;
  license?: string;
  /** The task suite file in the model's folder (presets). */
  tasks?: string;
  /** The files in the model's folder (others are known to be absent). */
  files?: string[];
}

export interface BundledManifest {
  default: string;
  models: BundledModel[];
}

/** Checks a parsed manifest's shape; `where` names the file in the message. */
export function parseBundledManifest(json: unknown, where: string): BundledManifest {
  const m = (json ?? {}) as Partial<BundledManifest>;
  const entryOk = (e: unknown) =>
    typeof e === 'object' &&
    e !== null &&
    typeof (e as BundledModel).id === 'string' &&
    typeof (e as BundledModel).folder === 'string';
  if (typeof m.default !== 'string' || !Array.isArray(m.models) || !m.models.every(entryOk)) {
    throw new DownloadError(`${where} is not a model manifest ({default, models}).`, 'http', where);
  }
  for (const e of m.models) {
    const arch = (e as { architecture?: unknown }).architecture;
    if (arch !== undefined && bundledFamily(e) === undefined) {
      throw new DownloadError(
        `${where} lists ${e.id} with architecture ${JSON.stringify(arch)}; the app runs "mamba" (Mamba-1) and "mamba2" (Mamba-2).`,
        'http',
        where,
      );
    }
  }
  return m as BundledManifest;
}

const FAMILY_OF_ARCHITECTURE: Record<string, ModelFamily> = { mamba: 'mamba1', mamba2: 'mamba2' };

/**
 * The family a manifest entry declares (its architecture is config.json's model_type). An entry without one
 * predates Mamba-2 and is Mamba-1: the loader still reads config.json and goes by what it says.
 */
export function bundledFamily(e: Pick<BundledModel, 'architecture'>): ModelFamily | undefined {
  if (e.architecture === undefined) return 'mamba1';
  return Object.hasOwn(FAMILY_OF_ARCHITECTURE, e.architecture)
    ? FAMILY_OF_ARCHITECTURE[e.architecture]
    : undefined;
}

/** "4.5M" from 4,505,024; a label the manifest already wrote ("0.1M") stays as it is. */
export function parametersLabel(p: BundledModel['parameters']): string | undefined {
  if (typeof p === 'string') return p || undefined;
  if (typeof p !== 'number' || !Number.isFinite(p) || p <= 0) return undefined;
  return p >= 1e9
    ? `${(p / 1e9).toFixed(1)}B`
    : p >= 1e6
      ? `${(p / 1e6).toFixed(1)}M`
      : `${(p / 1e3).toFixed(0)}K`;
}

/** How the chooser and the header tell bundled models apart: "Mamba-2 · 4.5M". */
export function bundledLabel(e: BundledModel): string {
  const family = bundledFamily(e);
  return [family ? familyLabel(family) : e.architecture, parametersLabel(e.parameters)]
    .filter(Boolean)
    .join(' · ');
}

/**
 * Where a bundled model's task suite is: its own tasks.json, else the default model's, which every bundled
 * model was trained on (the Mamba-2 ships none: the same 3 MB file twice would be waste). The command line
 * falls back the same way (src/cli/study-model.ts), so the app and `soup study` read one suite.
 */
export function bundledTasksOf(
  manifest: BundledManifest | undefined,
  entry: BundledModel | undefined,
): { folder: string; file: string; own: boolean } | undefined {
  if (entry?.tasks) return { folder: entry.folder, file: entry.tasks, own: true };
  const def = manifest?.models.find((m) => m.id === manifest.default || m.folder === manifest.default);
  return def?.tasks ? { folder: def.folder, file: def.tasks, own: false } : undefined;
}

/**
 * The bundled model to load: the one `wanted` names (by id or folder: `?model=` in the page's address, or the
 * model a share link was made with), else the manifest's default. `unknown` says that `wanted` named none.
 */
export function pickBundledModel(
  manifest: BundledManifest,
  wanted: string | undefined,
  where: string,
): { entry: BundledModel; unknown?: string } {
  const w = wanted?.trim();
  const hit = w ? manifest.models.find((m) => m.id === w || m.folder === w) : undefined;
  const entry = hit ?? defaultBundledModel(manifest, where);
  return w && !hit ? { entry, unknown: w } : { entry };
}

/** The model the manifest names as its default (by folder or id). */
export function defaultBundledModel(manifest: BundledManifest, where: string): BundledModel {
  const entry = manifest.models.find((m) => m.folder === manifest.default || m.id === manifest.default);
  if (!entry) {
    throw new DownloadError(
      `${where} names default "${manifest.default}" but lists no such model.`,
      'not-found',
      where,
    );
  }
  return entry;
}

/** Reads public/models/manifest.json: the models shipped with the app and the one loaded by default. */
export async function fetchBundledManifest(
  modelsUrl: string,
  fetchFn: FetchLike = fetch,
): Promise<BundledManifest> {
  const url = `${modelsUrl.replace(/\/+$/, '')}/manifest.json`;
  const res = await fetchFn(url);
  // A static server answering every path with the app's page (a build without models) counts as missing.
  const page = (res.headers.get('content-type') ?? '').includes('text/html');
  if (!res.ok || page) {
    throw new DownloadError(
      `The app's model list could not be read (${page ? 'a web page came back' : `HTTP ${res.status}`} at ${url}). Load a model from the hub or from local files instead.`,
      res.status === 404 || page ? 'not-found' : 'http',
      url,
      res.status,
    );
  }
  return parseBundledManifest(await res.json(), url);
}

/** Files a user picked or dropped (a checkpoint folder's files, or just some of them). */
export function filesSource(files: readonly File[], id = 'local files'): ModelSource {
  const byName = new Map<string, File>();
  for (const f of files) {
    // A picked folder gives "folder/sub/model.safetensors" in webkitRelativePath; match by base name.
    byName.set(f.name, f);
  }
  return blobSource(id, async (file) => byName.get(file.split('/').pop()!));
}

/** A folder the user granted through showDirectoryPicker() or a dropped directory entry. */
export function directoryHandleSource(dir: FileSystemDirectoryHandle): ModelSource {
  return blobSource(dir.name, async (file) => {
    try {
      return await (await dir.getFileHandle(file)).getFile();
    } catch (e) {
      if ((e as { name?: string }).name === 'NotFoundError') return undefined;
      throw e;
    }
  });
}

function blobSource(id: string, find: (file: string) => Promise<Blob | undefined>): ModelSource {
  return {
    id,
    label: (file) => `${id}/${file}`,
    async open(file) {
      const blob = await find(file);
      if (!blob) {
        throw new DownloadError(
          `${id} has no ${file}. Pick the checkpoint's config.json, tokenizer.json and model.safetensors (or its index and shards) together.`,
          'not-found',
          file,
        );
      }
      const body = blob.stream();
      return {
        body,
        size: blob.size,
        fromCache: false,
        commit: async () => undefined,
        abort: (r) => void body.cancel(r).catch(() => undefined),
      };
    },
  };
}

/** Reads a small file (config, tokenizer, index) to text; `file.commit()` is the caller's to call. */
export async function readAllText(body: ByteChunks): Promise<string> {
  const parts: Uint8Array[] = [];
  let n = 0;
  if (body instanceof ReadableStream) {
    const r = body.getReader();
    for (;;) {
      const { done, value } = await r.read();
      if (done) break;
      parts.push(value);
      n += value.byteLength;
    }
  } else {
    for await (const c of body) {
      parts.push(c);
      n += c.byteLength;
    }
  }
  const all = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.byteLength;
  }
  return new TextDecoder().decode(all);
}
