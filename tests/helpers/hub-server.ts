/**
 * A stand-in for the Hugging Face hub on 127.0.0.1, for unit tests (Node fetch), the end-to-end test (real
 * Chromium) and by hand (scripts/hub-server.ts). It serves repos under the hub's layout,
 * `/{owner}/{name}/resolve/{revision}/{file}`, and behaves as the hub does for large files: a 302 to a second
 * origin (the "CDN", another port) that answers with content-length, ETag, `accept-ranges: bytes` and 206 for
 * Range requests. CORS headers let a page on another origin fetch from both.
 *
 * Faults are injected per file: 404, 500, a dropped connection after N bytes, a response that stops short of
 * its content-length, a server that ignores Range. Every request is logged so tests can assert what happened
 * (a redirect followed, a resume with Range). Bounded: loopback only, a cap on connections, idle sockets and
 * request time, and close() ends every connection.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ModelSource } from '../../src/worker/protocol.ts';

export type FaultKind =
  | 'not-found' // 404 for this file
  | 'server-error' // 500
  | 'drop' // send `at` bytes, then destroy the connection
  | 'short' // send `at` bytes, then end the response cleanly although content-length promised more
  | 'no-range'; // ignore Range headers (answer 200 with the whole file)

export interface Fault {
  file: string;
  /** Limit the fault to one repo (default: the file in every repo). */
  repo?: string;
  kind: FaultKind;
  /** Byte count for drop/short. */
  at?: number;
  /** How many requests the fault applies to (default: all). */
  times?: number;
}

export interface LoggedRequest {
  server: 'hub' | 'cdn';
  method: string;
  path: string;
  range?: string;
  status: number;
  bytesSent: number;
}

export interface HubServerOptions {
  /** repo id -> file name -> bytes (revision "main", plus any in `revisions`). */
  repos: Record<string, Record<string, Uint8Array>>;
  revisions?: string[];
  /** Files at least this large are redirected to the CDN origin, as the hub does for LFS files. */
  lfsThreshold?: number;
  faults?: Fault[];
  /** Plain files at fixed paths (e.g. "/models/manifest.json"), served like the app's public folder. */
  statics?: Record<string, Uint8Array>;
  /** Delay per 64 KiB chunk, to make progress and cancel observable. */
  chunkDelayMs?: number;
  maxConnections?: number;
}

export interface HubServer {
  /** Base URL to use as the hub URL (http://127.0.0.1:PORT). */
  url: string;
  cdnUrl: string;
  log: LoggedRequest[];
  faults: Fault[];
  close(): Promise<void>;
}

const CHUNK = 64 * 1024;

function cors(res: ServerResponse) {
  res.setHeader('access-control-allow-origin', '*');
  res.setHeader('access-control-allow-headers', 'range, if-range');
  res.setHeader('access-control-allow-methods', 'GET, HEAD, OPTIONS');
  res.setHeader(
    'access-control-expose-headers',
    'content-length, content-range, etag, accept-ranges, x-linked-size, x-linked-etag, location',
  );
}

export async function startHubServer(opts: HubServerOptions): Promise<HubServer> {
  const revisions = new Set(['main', ...(opts.revisions ?? [])]);
  const lfsThreshold = opts.lfsThreshold ?? 1024;
  const log: LoggedRequest[] = [];
  const faults = opts.faults ?? [];
  type Blob = { file: string; repo: string; bytes: Uint8Array; etag: string };
  const blobs = new Map<string, Blob>();

  function takeFault(file: string, repo: string, kinds: FaultKind[]): Fault | undefined {
    const f = faults.find(
      (x) =>
        x.file === file &&
        (x.repo === undefined || x.repo === repo) &&
        kinds.includes(x.kind) &&
        (x.times ?? Infinity) > 0,
    );
    if (f && f.times !== undefined) f.times--;
    return f;
  }

  async function sendBytes(req: IncomingMessage, res: ServerResponse, entry: Blob, server: 'hub' | 'cdn') {
    const { bytes, file, repo } = entry;
    const rec: LoggedRequest = {
      server,
      method: req.method ?? 'GET',
      path: req.url ?? '',
      range: req.headers.range,
      status: 200,
      bytesSent: 0,
    };
    log.push(rec);
    const err = takeFault(file, repo, ['not-found', 'server-error']);
    if (err) {
      rec.status = err.kind === 'not-found' ? 404 : 500;
      res.writeHead(rec.status, { 'content-type': 'text/plain' });
      res.end(err.kind === 'not-found' ? 'Entry not found' : 'Internal Error');
      return;
    }
    let start = 0;
    const noRange = takeFault(file, repo, ['no-range']);
    const m = req.headers.range && !noRange ? /^bytes=(\d+)-(\d*)$/.exec(req.headers.range) : null;
    let end = bytes.byteLength; // exclusive
    if (m) {
      start = Number(m[1]);
      if (m[2]) end = Math.min(end, Number(m[2]) + 1);
      if (start >= bytes.byteLength) {
        rec.status = 416;
        res.writeHead(416, { 'content-range': `bytes */${bytes.byteLength}` });
        res.end();
        return;
      }
      rec.status = 206;
      res.writeHead(206, {
        'content-type': 'application/octet-stream',
        'content-length': String(end - start),
        'content-range': `bytes ${start}-${end - 1}/${bytes.byteLength}`,
        'accept-ranges': 'bytes',
        etag: entry.etag,
      });
    } else {
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        'content-length': String(bytes.byteLength),
        'accept-ranges': noRange ? 'none' : 'bytes',
        etag: entry.etag,
      });
    }
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    const cut = takeFault(file, repo, ['drop', 'short']);
    const stopAt = cut ? Math.max(start, Math.min(end, cut.at ?? 0)) : end;
    for (let at = start; at < stopAt; at += CHUNK) {
      const piece = bytes.subarray(at, Math.min(stopAt, at + CHUNK));
      const ok = res.write(piece);
      rec.bytesSent += piece.byteLength;
      if (!ok) await new Promise((r) => res.once('drain', r));
      if (opts.chunkDelayMs) await new Promise((r) => setTimeout(r, opts.chunkDelayMs));
      if (res.destroyed) return;
    }
    // Let the bytes already written reach the client first: a real connection drops mid-body, after the
    // response has started, not together with its headers.
    if (cut) await new Promise((r) => setTimeout(r, 50));
    if (cut?.kind === 'drop') {
      res.socket?.destroy();
      return;
    }
    if (cut?.kind === 'short') {
      // End the connection as a server that crashed after a clean write would: no more bytes, no error.
      res.socket?.end();
      return;
    }
    res.end();
  }

  const cdn = createServer((req, res) => {
    cors(res);
    if (req.method === 'OPTIONS') {
      res.writeHead(204).end();
      return;
    }
    const m = /^\/lfs\/([0-9a-f]+)$/.exec((req.url ?? '').split('?')[0]!);
    const entry = m ? blobs.get(m[1]!) : undefined;
    if (!entry) {
      log.push({ server: 'cdn', method: req.method ?? '', path: req.url ?? '', status: 404, bytesSent: 0 });
      res.writeHead(404).end('not found');
      return;
    }
    void sendBytes(req, res, entry, 'cdn');
  });

  const hub = createServer((req, res) => {
    cors(res);
    if (req.method === 'OPTIONS') {
      res.writeHead(204).end();
      return;
    }
    const path = decodeURIComponent((req.url ?? '').split('?')[0]!);
    const fixed = opts.statics?.[path];
    if (fixed) {
      void sendBytes(
        req,
        res,
        { file: path.split('/').pop()!, repo: '', bytes: fixed, etag: '"static"' },
        'hub',
      );
      return;
    }
    const m = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(path);
    const files = m ? opts.repos[m[1]!] : undefined;
    const bytes = m && files && revisions.has(m[2]!) ? files[m[3]!] : undefined;
    if (!m || !bytes) {
      log.push({ server: 'hub', method: req.method ?? '', path, status: 404, bytesSent: 0 });
      res.writeHead(404, { 'x-error-code': 'EntryNotFound' }).end('Entry not found');
      return;
    }
    const file = m[3]!;
    const etag = `"${createHash('sha256').update(bytes).digest('hex')}"`;
    if (
      bytes.byteLength >= lfsThreshold &&
      !faults.some((f) => f.file === file && (f.repo ?? m[1]) === m[1] && f.kind === 'not-found')
    ) {
      const key = createHash('sha256').update(`${m[1]}/${m[2]}/${file}`).digest('hex').slice(0, 32);
      blobs.set(key, { file, repo: m[1]!, bytes, etag });
      log.push({
        server: 'hub',
        method: req.method ?? '',
        path,
        range: req.headers.range,
        status: 302,
        bytesSent: 0,
      });
      res.writeHead(302, {
        location: `${cdnUrl}/lfs/${key}`,
        'x-linked-size': String(bytes.byteLength),
        'x-linked-etag': etag,
      });
      res.end();
      return;
    }
    void sendBytes(req, res, { file, repo: m[1]!, bytes, etag }, 'hub');
  });

  const sockets = new Set<Socket>();
  for (const s of [hub, cdn]) {
    s.maxConnections = opts.maxConnections ?? 64;
    s.requestTimeout = 60_000;
    s.keepAliveTimeout = 1000;
    s.on('connection', (sock: Socket) => {
      sockets.add(sock);
      sock.on('close', () => sockets.delete(sock));
    });
  }
  const listen = (s: Server) =>
    new Promise<number>((resolve) =>
      s.listen(0, '127.0.0.1', () => resolve((s.address() as AddressInfo).port)),
    );
  const cdnUrl = `http://127.0.0.1:${await listen(cdn)}`;
  const url = `http://127.0.0.1:${await listen(hub)}`;
  return {
    url,
    cdnUrl,
    log,
    faults,
    async close() {
      for (const s of sockets) s.destroy();
      await Promise.all([hub, cdn].map((s) => new Promise((r) => s.close(() => r(undefined)))));
    },
  };
}

/** Reads a checkpoint folder into the `repos` map (top-level files only). */
export function repoFromFolder(dir: string): Record<string, Uint8Array> {
  const files: Record<string, Uint8Array> = {};
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isFile()) files[name] = new Uint8Array(readFileSync(p));
  }
  return files;
}

/** A model folder of public/models served as the app's bundled models are (under /models/<folder>/). */
export interface ServedBundledModel {
  server: HubServer;
  /** The page's source for it, as the model chooser builds one. */
  source: Extract<ModelSource, { kind: 'bundled' }>;
}

/** Serves `dir` (a bundled model folder named `folder`) over a local server, for tests of the load path. */
export async function serveBundledModel(dir: string, folder: string): Promise<ServedBundledModel> {
  const statics: Record<string, Uint8Array> = {};
  for (const [name, bytes] of Object.entries(repoFromFolder(dir)))
    statics[`/models/${folder}/${name}`] = bytes;
  const server = await startHubServer({ repos: {}, statics });
  const source = {
    kind: 'bundled' as const,
    modelsUrl: `${server.url}/models`,
    folder,
    id: folder,
    files: ['config.json', 'model.safetensors', 'tokenizer.json'],
  };
  return { server, source };
}
