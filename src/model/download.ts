/**
 * Downloading one file over HTTP so that a large checkpoint survives a flaky connection: redirects are
 * followed (the hub answers large files with a 302 to its CDN on another origin), a connection that drops or a
 * body that ends short of content-length is resumed with a Range request from the byte it stopped at (or, where
 * the server ignores ranges, restarted with the bytes already delivered skipped), and failures become a
 * DownloadError whose message says what happened and what to do. Cancelling the signal stops at once.
 */
import { DownloadError, isAbortError } from './errors.ts';

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

export interface DownloadOptions {
  /** Names the file in messages (e.g. "state-spaces/mamba-130m-hf@main/model.safetensors"). */
  file: string;
  fetch?: FetchLike;
  signal?: AbortSignal;
  /** How many times a dropped connection is resumed before giving up. */
  retries?: number;
  /** Pause before each resume, doubled each time. */
  retryDelayMs?: number;
}

export interface DownloadedBody {
  /** The whole file's bytes, resumed across drops: consumers see one uninterrupted stream. */
  body: ReadableStream<Uint8Array>;
  /** From content-length (of the final response after redirects), when the server sent it. */
  size: number | undefined;
  /** How many times the body was resumed (for tests and diagnostics). */
  resumes: () => number;
}

/**
 * A static host or dev server with a single-page-app fallback answers 200 with index.html for a file that does
 * not exist. No JSON or safetensors file is ever served as text/html, so that answer means "not found".
 */
function isHtmlFallback(res: Response, url: string): boolean {
  const type = res.headers.get('content-type') ?? '';
  return /^\s*text\/html\b/i.test(type) && /\.(json|safetensors)(?:[?#]|$)/i.test(url);
}

function statusError(res: Response, url: string, file: string): DownloadError {
  const s = res.status;
  if (s === 404) {
    return new DownloadError(
      `${file} was not found (HTTP 404 at ${url}). Check the repo id, the revision and that the checkpoint has this file.`,
      'not-found',
      url,
      s,
    );
  }
  if (s === 401 || s === 403) {
    // The hub answers 401 both for private or gated repos and for repos that do not exist.
    return new DownloadError(
      `${file} is not accessible (HTTP ${s} at ${url}): the repo does not exist, or it is private or gated. Check the repo id; for a gated repo accept its terms on the hub, or download the files and open them as local files.`,
      'forbidden',
      url,
      s,
    );
  }
  return new DownloadError(
    `${file} could not be downloaded (HTTP ${s} ${res.statusText} at ${url}). Try again later.`,
    'http',
    url,
    s,
  );
}

function networkError(url: string, file: string, cause: unknown, received: number): DownloadError {
  const detail = cause instanceof Error ? `${cause.message}${causeOf(cause)}` : String(cause);
  const where = received > 0 ? ` after ${received} bytes` : '';
  return new DownloadError(
    `The connection failed while downloading ${file}${where} (${detail}). Check your network and load again: the download resumes where it stopped if the server allows it.`,
    'network',
    url,
  );
}

function causeOf(e: Error): string {
  const c = (e as { cause?: unknown }).cause;
  return c instanceof Error ? `: ${c.message}` : '';
}

async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  signal?.throwIfAborted();
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}

/** Parses "bytes 100-199/1000" into its first byte and total. */
function parseContentRange(v: string | null): { start: number; total?: number } | undefined {
  const m = v && /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(v.trim());
  if (!m) return undefined;
  return { start: Number(m[1]), total: m[3] === '*' ? undefined : Number(m[3]) };
}

/**
 * Starts downloading `url`. Rejects at once for HTTP errors (404, 403, 5xx) and for a connection that cannot
 * be opened; failures later in the body surface from the returned stream's reads.
 */
export async function download(url: string, opts: DownloadOptions): Promise<DownloadedBody> {
  const fetchFn: FetchLike = opts.fetch ?? ((u, i) => fetch(u, i));
  const { file, signal } = opts;
  const retries = opts.retries ?? 3;
  const baseDelay = opts.retryDelayMs ?? 500;

  const first = await openWithRetries(fetchFn, url, file, undefined, signal, retries, baseDelay);
  const lengthHeader = first.headers.get('content-length');
  // A compressed response's content-length counts compressed bytes while the body yields decoded ones, and
  // ranges address the compressed form: such a body has no usable size and is resumed by restarting.
  const encoding = (first.headers.get('content-encoding') ?? 'identity').toLowerCase();
  const encoded = encoding !== 'identity' && encoding !== '';
  const size =
    !encoded && lengthHeader !== null && /^\d+$/.test(lengthHeader) ? Number(lengthHeader) : undefined;

  let reader: ReadableStreamDefaultReader<Uint8Array> = first.body!.getReader();
  let received = 0;
  let resumes = 0;
  let attemptsLeft = retries;

  /** Re-opens the body at `received`: a 206 continues, a 200 restarts with the delivered bytes skipped. */
  async function resume(cause: unknown): Promise<void> {
    if (attemptsLeft <= 0) {
      if (cause === 'short') {
        throw new DownloadError(
          `The download of ${file} stopped at ${received} of ${size} bytes and could not be resumed. Load again to retry.`,
          'truncated',
          url,
        );
      }
      throw networkError(url, file, cause, received);
    }
    attemptsLeft--;
    resumes++;
    await sleep(baseDelay * 2 ** (retries - attemptsLeft - 1), signal);
    reader.cancel().catch(() => undefined);
    const res = await openWithRetries(
      fetchFn,
      url,
      file,
      encoded ? undefined : received,
      signal,
      attemptsLeft,
      baseDelay,
    );
    if (res.status === 206) {
      const range = parseContentRange(res.headers.get('content-range'));
      if (!range || range.start !== received || (size !== undefined && range.total !== size)) {
        res.body?.cancel().catch(() => undefined);
        throw new DownloadError(
          `${file} changed on the server while it was downloading (the resumed range does not match). Load again to start clean.`,
          'http',
          url,
          res.status,
        );
      }
      reader = res.body!.getReader();
      return;
    }
    // 200: the server ignored the range; read past what was already delivered.
    const r = res.body!.getReader();
    let skip = received;
    const pending: Uint8Array[] = [];
    while (skip > 0) {
      const { done, value } = await r.read();
      if (done) throw networkError(url, file, new Error('the restarted download ended early'), received);
      if (value.byteLength <= skip) {
        skip -= value.byteLength;
      } else {
        pending.push(value.subarray(skip));
        skip = 0;
      }
    }
    reader = prepend(pending, r);
  }

  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      for (;;) {
        let chunk: ReadableStreamReadResult<Uint8Array>;
        try {
          chunk = await reader.read();
        } catch (e) {
          if (isAbortError(e) || signal?.aborted) throw signal?.reason ?? e;
          await resume(e);
          continue;
        }
        if (chunk.done) {
          if (size !== undefined && received < size) {
            await resume('short');
            continue;
          }
          controller.close();
          return;
        }
        if (chunk.value.byteLength === 0) continue;
        received += chunk.value.byteLength;
        controller.enqueue(chunk.value);
        return;
      }
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
  return { body, size, resumes: () => resumes };
}

/** A reader that first yields `head` chunks, then continues with `rest`. */
function prepend(
  head: Uint8Array[],
  rest: ReadableStreamDefaultReader<Uint8Array>,
): ReadableStreamDefaultReader<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const h = head.shift();
      if (h) {
        controller.enqueue(h);
        return;
      }
      const { done, value } = await rest.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel(reason) {
      return rest.cancel(reason);
    },
  }).getReader();
}

async function openWithRetries(
  fetchFn: FetchLike,
  url: string,
  file: string,
  from: number | undefined,
  signal: AbortSignal | undefined,
  retries: number,
  baseDelay: number,
): Promise<Response> {
  for (let attempt = 0; ; attempt++) {
    let res: Response;
    try {
      const headers: Record<string, string> = from ? { Range: `bytes=${from}-` } : {};
      res = await fetchFn(url, { signal, headers, redirect: 'follow' });
    } catch (e) {
      if (isAbortError(e) || signal?.aborted) throw signal?.reason ?? e;
      if (attempt >= retries) throw networkError(url, file, e, from ?? 0);
      await sleep(baseDelay * 2 ** attempt, signal);
      continue;
    }
    if (res.ok && res.body && !isHtmlFallback(res, url)) return res;
    res.body?.cancel().catch(() => undefined);
    if (res.ok && res.body) {
      throw new DownloadError(
        `${file} was not found (${url} answered with an HTML page, not the file). Check the address and that the folder has this file.`,
        'not-found',
        url,
        res.status,
      );
    }
    // A 5xx may be passing (the CDN under load); anything else will not change by retrying.
    if (res.status >= 500 && attempt < retries) {
      await sleep(baseDelay * 2 ** attempt, signal);
      continue;
    }
    throw statusError(res, url, file);
  }
}
