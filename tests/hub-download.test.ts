/**
 * The network side of loading against the local hub server: the hub's redirect, dropped connections and
 * responses cut short (resumed with Range, or restarted where the server ignores ranges), 404/403/500,
 * cancelling, and the cache (a second load with the server gone, quota errors, corrupt cached files).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadModel, type LoadOptions } from '../src/model/loader.ts';
import { bundledSource, hubSource } from '../src/model/sources.ts';
import { DownloadError, ModelFormatError } from '../src/model/errors.ts';
import { deleteCachedModel, listCachedModels, QUOTA_MESSAGE } from '../src/model/cache.ts';
import { download } from '../src/model/download.ts';
import { SafetensorsFile } from '../src/model/safetensors.ts';
import type { AnyMambaConfig } from '../src/model/family.ts';
import { startHubServer, type HubServer } from './helpers/hub-server.ts';
import { MemoryCache, RecordingSink } from './helpers/loading.ts';
import { asDtype, fixtureFiles, sharded } from './helpers/model-variants.ts';

const A = fixtureFiles('tiny-a');
const WEIGHTS = A['model.safetensors']!;
const fixtureTensors = new SafetensorsFile(WEIGHTS);

let hub: HubServer;
beforeAll(async () => {
  hub = await startHubServer({
    repos: { 'test/a': A, 'test/sharded': sharded(A, 2) },
    lfsThreshold: 4096,
  });
});
afterAll(async () => {
  await hub.close();
});
beforeEach(() => {
  hub.faults.length = 0;
  hub.log.length = 0;
});

function opts(
  made: RecordingSink[] = [],
  extra: Partial<LoadOptions<RecordingSink>> = {},
): LoadOptions<RecordingSink> {
  return {
    tokenizer: false,
    createSink: (config: AnyMambaConfig, precision: string) => {
      const s = new RecordingSink(config, precision);
      made.push(s);
      return s;
    },
    ...extra,
  };
}

function src(repo = 'test/a', cache?: MemoryCache, hubUrl = hub.url) {
  return hubSource({ repo, hubUrl, cache, retryDelayMs: 5 });
}

function expectFixtureTensors(sink: RecordingSink) {
  for (const n of fixtureTensors.names) expect(sink.tensors.get(n)).toEqual(fixtureTensors.float32(n));
}

describe('downloads that go wrong', () => {
  it('a dropped connection is resumed with a Range request from the byte it stopped at', async () => {
    hub.faults.push({ file: 'model.safetensors', kind: 'drop', at: 10_000, times: 1 });
    const made: RecordingSink[] = [];
    const loaded = await loadModel(src(), opts(made));
    expectFixtureTensors(loaded.sink);
    const cdn = hub.log.filter((r) => r.server === 'cdn');
    expect(cdn[0]!.bytesSent).toBeLessThanOrEqual(10_000);
    expect(cdn[1]!.status).toBe(206);
    expect(cdn[1]!.range).toMatch(/^bytes=\d+-$/);
    const resumedAt = Number(/bytes=(\d+)-/.exec(cdn[1]!.range!)![1]);
    expect(resumedAt).toBeGreaterThan(0);
    expect(resumedAt).toBeLessThanOrEqual(10_000);
    // Only the missing bytes were sent again.
    expect(cdn[1]!.bytesSent).toBe(WEIGHTS.byteLength - resumedAt);
  });

  it('a response that ends short of its content-length is resumed the same way', async () => {
    hub.faults.push({ file: 'model.safetensors', kind: 'short', at: 70_000, times: 1 });
    const loaded = await loadModel(src(), opts());
    expectFixtureTensors(loaded.sink);
    expect(hub.log.filter((r) => r.server === 'cdn' && r.status === 206).length).toBe(1);
  });

  it('a server that ignores Range restarts the file and skips the bytes already delivered', async () => {
    hub.faults.push({ file: 'model.safetensors', kind: 'drop', at: 20_000, times: 1 });
    hub.faults.push({ file: 'model.safetensors', kind: 'no-range' });
    const loaded = await loadModel(src(), opts());
    expectFixtureTensors(loaded.sink);
    const cdn = hub.log.filter((r) => r.server === 'cdn');
    expect(cdn.length).toBe(2);
    expect(cdn[1]!.range).toBeDefined();
    expect(cdn[1]!.status).toBe(200);
  });

  it('a connection that keeps dropping fails with a message, after its retries, and frees the model', async () => {
    hub.faults.push({ file: 'model.safetensors', kind: 'drop', at: 5_000 });
    const made: RecordingSink[] = [];
    const err = await loadModel(src(), opts(made)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DownloadError);
    expect((err as DownloadError).failure).toBe('network');
    expect((err as Error).message).toMatch(
      /^The connection failed while downloading test\/a@main\/model\.safetensors( after \d+ bytes)? \(.*\)\. Check your network and load again: the download resumes where it stopped/,
    );
    expect(made.every((s) => s.destroyed)).toBe(true);
    expect(hub.log.filter((r) => r.server === 'cdn').length).toBe(4); // the first try and 3 resumes
  });

  it('404: the message names the file, the URL and what to check', async () => {
    const err = await loadModel(src('test/nope'), opts()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DownloadError);
    expect((err as DownloadError).failure).toBe('not-found');
    expect((err as Error).message).toBe(
      `test/nope@main/config.json was not found (HTTP 404 at ${hub.url}/test/nope/resolve/main/config.json). Check the repo id, the revision and that the checkpoint has this file.`,
    );
  });

  it('a repo without weights says which file is missing', async () => {
    hub.faults.push({ file: 'model.safetensors', kind: 'not-found' });
    const made: RecordingSink[] = [];
    const err = await loadModel(src(), opts(made)).catch((e: unknown) => e);
    expect((err as Error).message).toBe(
      `test/a@main has neither model.safetensors nor model.safetensors.index.json (not found at ${hub.url}/test/a/resolve/main/model.safetensors). Only safetensors checkpoints can be loaded: pick a repo that has them (the state-spaces/mamba-*-hf repos do), or convert pytorch_model.bin to safetensors first.`,
    );
    expect(made.length).toBe(0);
  });

  it('a passing 500 is retried; a lasting one is reported', async () => {
    hub.faults.push({ file: 'config.json', kind: 'server-error', times: 1 });
    await loadModel(src(), opts());
    hub.faults.length = 0;
    hub.faults.push({ file: 'config.json', kind: 'server-error' });
    const err = await loadModel(src(), opts()).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(
      /^test\/a@main\/config\.json could not be downloaded \(HTTP 500 Internal Server Error at .*\)\. Try again later\.$/,
    );
  });

  it('a gated repo (403) says to accept its terms or use local files', async () => {
    const fake = async () => new Response('gated', { status: 403 });
    const err = await download('https://hub.example/x/resolve/main/config.json', {
      file: 'x@main/config.json',
      fetch: fake,
    }).catch((e: unknown) => e);
    expect((err as DownloadError).failure).toBe('forbidden');
    expect((err as Error).message).toBe(
      'x@main/config.json is not accessible (HTTP 403 at https://hub.example/x/resolve/main/config.json): the repo does not exist, or it is private or gated. Check the repo id; for a gated repo accept its terms on the hub, or download the files and open them as local files.',
    );
  });

  it('an HTML page answered for a JSON or safetensors file (an SPA fallback) is "not found", not parsed', async () => {
    const page = '<!doctype html><html><body>app</body></html>';
    const fake = async () => new Response(page, { headers: { 'content-type': 'text/html; charset=utf-8' } });
    for (const name of ['tokenizer.json', 'model.safetensors']) {
      const url = `https://app.example/models/tiny/${name}`;
      const err = await download(url, { file: `tiny/${name}`, fetch: fake }).catch((e: unknown) => e);
      expect((err as DownloadError).failure).toBe('not-found');
      expect((err as Error).message).toBe(
        `tiny/${name} was not found (${url} answered with an HTML page, not the file). Check the address and that the folder has this file.`,
      );
    }
    // The same JSON served with its own type still downloads.
    const json = async () => new Response('{"a":1}', { headers: { 'content-type': 'application/json' } });
    const dl = await download('https://app.example/models/tiny/config.json', { file: 'c', fetch: json });
    expect(await new Response(dl.body).text()).toBe('{"a":1}');
  });

  it('a compressed response: content-length is not taken as the size, and the whole body arrives', async () => {
    const body = new Uint8Array(100).map((_, i) => i);
    const fake = async () =>
      new Response(body, { headers: { 'content-length': '10', 'content-encoding': 'gzip' } });
    const dl = await download('https://hub.example/x/resolve/main/config.json', { file: 'x', fetch: fake });
    expect(dl.size).toBeUndefined();
    expect(new Uint8Array(await new Response(dl.body).arrayBuffer())).toEqual(body);
  });

  it('a repo id that is not owner/name is refused before any request', () => {
    expect(() => hubSource({ repo: 'mamba 130m', hubUrl: hub.url })).toThrow(
      /"mamba 130m" is not a hub repo id; write it as owner\/name, for example state-spaces\/mamba-130m-hf\./,
    );
  });

  it('cancelling stops the download, frees the model and caches nothing', async () => {
    const slow = await startHubServer({ repos: { 'test/a': A }, lfsThreshold: 4096, chunkDelayMs: 30 });
    try {
      const cache = new MemoryCache();
      const ctl = new AbortController();
      const made: RecordingSink[] = [];
      let seen = 0;
      const err = await loadModel(
        hubSource({ repo: 'test/a', hubUrl: slow.url, cache }),
        opts(made, {
          signal: ctl.signal,
          onProgress: (p) => {
            if (p.phase === 'weights' && p.loaded > 0 && ++seen === 2) ctl.abort();
          },
        }),
      ).catch((e: unknown) => e);
      expect((err as Error).name).toBe('AbortError');
      expect(made.length).toBe(1);
      expect(made[0]!.destroyed).toBe(true);
      expect(made[0]!.finalized).toBe(false);
      const cached = await listCachedModels(cache);
      expect(cached.flatMap((m) => m.files.map((f) => f.file))).not.toContain('model.safetensors');
    } finally {
      await slow.close();
    }
  });
});

describe('the cache', () => {
  it('a second load works with the server gone, entirely from the cache', async () => {
    const server = await startHubServer({ repos: { 'test/a': A }, lfsThreshold: 4096 });
    const cache = new MemoryCache();
    const first = await loadModel(hubSource({ repo: 'test/a', hubUrl: server.url, cache }), opts());
    expect(first.files.every((f) => !f.fromCache)).toBe(true);
    const url = server.url;
    await server.close();
    const second = await loadModel(hubSource({ repo: 'test/a', hubUrl: url, cache }), opts());
    expect(second.files.map((f) => [f.file, f.fromCache])).toEqual([
      ['config.json', true],
      ['model.safetensors', true],
    ]);
    expectFixtureTensors(second.sink);
    const models = await listCachedModels(cache);
    expect(models.length).toBe(1);
    expect(models[0]!.model).toBe('test/a@main');
    expect(models[0]!.bytes).toBe(WEIGHTS.byteLength + A['config.json']!.byteLength);
    expect(await deleteCachedModel(cache, 'test/a@main')).toBe(2);
    expect(await listCachedModels(cache)).toEqual([]);
  });

  it('a sharded model reloads offline too (its index is found in the cache)', async () => {
    const server = await startHubServer({ repos: { 'test/sharded': sharded(A, 2) }, lfsThreshold: 4096 });
    const cache = new MemoryCache();
    await loadModel(hubSource({ repo: 'test/sharded', hubUrl: server.url, cache }), opts());
    const url = server.url;
    await server.close();
    const again = await loadModel(hubSource({ repo: 'test/sharded', hubUrl: url, cache }), opts());
    expect(again.files.length).toBe(4);
    expect(again.files.every((f) => f.fromCache)).toBe(true);
    expectFixtureTensors(again.sink);
  });

  it('a full disk (QuotaExceededError) is a warning: the model still loads, uncached', async () => {
    const cache = new MemoryCache(10_000); // room for config.json, not for the weights
    const warnings: string[] = [];
    const loaded = await loadModel(src('test/a', cache), opts([], { onWarning: (w) => warnings.push(w) }));
    expectFixtureTensors(loaded.sink);
    expect(warnings).toEqual([QUOTA_MESSAGE]);
    expect(loaded.warnings).toEqual([QUOTA_MESSAGE]);
    expect(QUOTA_MESSAGE).toMatch(
      /storage is full.*loaded but not saved for offline use.*Delete cached models/,
    );
    expect([...cache.entries.keys()].some((u) => u.endsWith('model.safetensors'))).toBe(false);
  });

  it('a download that fails is not cached; the next attempt downloads the whole file again', async () => {
    hub.faults.push({ file: 'model.safetensors', kind: 'drop', at: 5_000 });
    const cache = new MemoryCache();
    await expect(loadModel(src('test/a', cache), opts())).rejects.toThrow(DownloadError);
    expect([...cache.entries.keys()].some((u) => u.endsWith('model.safetensors'))).toBe(false);
    hub.faults.length = 0;
    const loaded = await loadModel(src('test/a', cache), opts());
    expectFixtureTensors(loaded.sink);
    expect([...cache.entries.keys()].some((u) => u.endsWith('model.safetensors'))).toBe(true);
  });

  it('a corrupt cached file is refused, evicted, and the retry downloads it clean', async () => {
    const cache = new MemoryCache();
    await loadModel(src('test/a', cache), opts());
    const key = [...cache.entries.keys()].find((u) => u.endsWith('model.safetensors'))!;
    const entry = cache.entries.get(key)!;
    cache.entries.set(key, { ...entry, body: entry.body.slice(0, entry.body.byteLength - 1000) });
    const made: RecordingSink[] = [];
    const err = await loadModel(src('test/a', cache), opts(made)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelFormatError);
    // Which tensor the cut falls in, from the file's own header.
    const cut = WEIGHTS.byteLength - 1000;
    const { dataStart, tensors } = fixtureTensors.header;
    const inside = [...tensors.values()].find((t) => dataStart + t.begin < cut && cut <= dataStart + t.end)!;
    expect((err as Error).message).toBe(
      `test/a@main/model.safetensors is truncated: it ends after ${cut} bytes, inside tensor "${inside.name}". Download it again. The cached copy was removed, so loading again downloads it afresh.`,
    );
    expect(made[0]?.destroyed ?? true).toBe(true);
    expect(cache.entries.has(key)).toBe(false);
    hub.log.length = 0;
    const loaded = await loadModel(src('test/a', cache), opts());
    expectFixtureTensors(loaded.sink);
    expect(hub.log.some((r) => r.server === 'cdn' && r.status === 200)).toBe(true);
  });
});

describe('the bundled folder: network first, cache when offline', () => {
  it('an updated bundled model replaces the cached one; with the server gone the cache serves it', async () => {
    const statics: Record<string, Uint8Array> = {
      '/models/m/config.json': A['config.json']!,
      '/models/m/model.safetensors': WEIGHTS,
    };
    const server = await startHubServer({ repos: {}, statics });
    const modelsUrl = `${server.url}/models`;
    const cache = new MemoryCache();
    const load = () => loadModel(bundledSource('m', modelsUrl, { cache, retryDelayMs: 5 }), opts());
    try {
      const first = await load();
      expect(first.checkpointDtype).toBe('F32');
      // The app is updated: the same URL now serves an F16 export.
      statics['/models/m/model.safetensors'] = asDtype(A, 'F16')['model.safetensors']!;
      const second = await load();
      expect(second.files.every((f) => !f.fromCache)).toBe(true);
      expect(second.checkpointDtype).toBe('F16');
    } finally {
      await server.close();
    }
    const offline = await load();
    expect(offline.files.every((f) => f.fromCache)).toBe(true);
    expect(offline.checkpointDtype).toBe('F16');
  });
});
