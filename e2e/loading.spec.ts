/**
 * Model loading in real Chromium (SwiftShader WebGPU), through harness.html and src/harness/parts/loading.ts,
 * from the local hub server running in this test process: the hub's 302 to its CDN origin, CORS, streamed
 * download with progress into the real engine, Cache Storage, a reload with the server stopped, the sharded
 * and BF16 variants, cancelling, and the cache view. Logits come from the engine in the page and are compared
 * here with the transformers fixtures (F32) or the CPU reference on the same rounded weights (BF16).
 */
import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import { startHubServer, type HubServer } from '../tests/helpers/hub-server.ts';
import { asDtype, fixtureFiles, sharded, type Files } from '../tests/helpers/model-variants.ts';
import { loadFixture, relMaxDiff, safetensorsSource } from '../tests/helpers/fixtures.ts';
import { SafetensorsFile } from '../src/model/safetensors.ts';
import { parseMambaConfig } from '../src/model/config.ts';
import { weightsFromSource } from '../src/engine/weights.ts';
import { referenceForward } from '../src/engine/reference/mamba.ts';
import type { HubLoadRequest, LoadRequest } from '../src/harness/parts/loading.ts';

type LoadResult =
  | {
      ok: true;
      cacheAvailable: boolean;
      files: { file: string; bytes: number; fromCache: boolean }[];
      precision: string;
      checkpointDtype: string;
      warnings: string[];
      hashes: Record<string, string>;
      logits: Record<string, number[]>;
      progress: {
        events: number;
        last: {
          overallLoaded: number;
          overallTotal?: number;
          percent?: number;
          tensorsDone: number;
          tensorsTotal: number;
        };
        maxSpeed: number;
        anyTimeLeft: boolean;
        monotonic: boolean;
        phases: string[];
      };
    }
  | { ok: false; name: string; message: string; sinks: number; destroyed: number };

interface CachedModel {
  model: string;
  bytes: number;
  files: { file: string; bytes: number }[];
}

const A = fixtureFiles('tiny-a');
const B = fixtureFiles('tiny-b');
const B_BF16 = asDtype(B, 'BF16');

function fnv1a(data: Float32Array): string {
  const b = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  let h = 0x811c9dc5;
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i]!, 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

function hashesOf(files: Files): Record<string, string> {
  const st = new SafetensorsFile(files['model.safetensors']!);
  return Object.fromEntries(st.names.map((n) => [n, fnv1a(st.float32(n))]));
}

function sequences(name: 'tiny-a' | 'tiny-b', take = 2) {
  const fx = loadFixture(name);
  return Object.fromEntries(
    fx.sequences.slice(0, take).map((s) => [s, Array.from(fx.expected.int32(`${s}.tokens`))]),
  );
}

let baseURL = 'http://localhost:4173';

async function openHarness(page: Page) {
  await page.goto(`${baseURL}/harness.html`);
  await expect(page.locator('body')).toHaveAttribute('data-ready', 'true');
}

async function load(page: Page, req: HubLoadRequest): Promise<LoadResult> {
  return page.evaluate(
    (r) =>
      (
        window as unknown as { soup: { loading: { loadFromHub: (r: unknown) => Promise<unknown> } } }
      ).soup.loading.loadFromHub(r),
    req,
  ) as Promise<LoadResult>;
}

async function cacheList(page: Page): Promise<CachedModel[]> {
  return page.evaluate(() =>
    (
      window as unknown as { soup: { loading: { cacheList: () => Promise<unknown> } } }
    ).soup.loading.cacheList(),
  ) as Promise<CachedModel[]>;
}

async function cacheDelete(page: Page, model: string): Promise<number> {
  return page.evaluate(
    (m) =>
      (
        window as unknown as { soup: { loading: { cacheDelete: (m: string) => Promise<number> } } }
      ).soup.loading.cacheDelete(m),
    model,
  );
}

test.describe.serial('loading a checkpoint in Chromium', () => {
  let hub: HubServer | undefined;
  let hubUrl = '';
  // One browser context for the whole sequence: Cache Storage lives in the context, and "reload" must find
  // what the first test downloaded.
  let context: BrowserContext;
  let page: Page;

  test.beforeAll(async ({ browser }, info) => {
    baseURL = info.project.use.baseURL ?? baseURL;
    context = await browser.newContext();
    page = await context.newPage();
    hub = await startHubServer({
      repos: {
        'test/tiny-a': A,
        'test/tiny-b-sharded': sharded(B, 3),
        'test/tiny-b-bf16': B_BF16,
        'test/tiny-a-flaky': A,
      },
      faults: [{ file: 'model.safetensors', repo: 'test/tiny-a-flaky', kind: 'drop', at: 150_000, times: 1 }],
      lfsThreshold: 4096,
      chunkDelayMs: 5,
    });
    hubUrl = hub.url;
  });
  test.afterAll(async () => {
    await context?.close();
    await hub?.close();
  });

  test('downloads with progress through the hub redirect into the engine; logits match the fixture', async () => {
    await openHarness(page);
    for (const m of await cacheList(page)) await cacheDelete(page, m.model);
    const r = await load(page, { hubUrl, repo: 'test/tiny-a', sequences: sequences('tiny-a') });
    if (!r.ok) throw new Error(r.message);
    expect(r.cacheAvailable).toBe(true);
    expect(r.files.map((f) => [f.file, f.fromCache])).toEqual([
      ['config.json', false],
      ['model.safetensors', false],
    ]);
    expect(hub!.log.some((x) => x.server === 'hub' && x.status === 302)).toBe(true);
    expect(hub!.log.some((x) => x.server === 'cdn' && x.status === 200)).toBe(true);
    expect(r.progress.events).toBeGreaterThan(3);
    expect(r.progress.monotonic).toBe(true);
    expect(r.progress.last.overallLoaded).toBe(A['model.safetensors']!.byteLength);
    expect(r.progress.last.overallTotal).toBe(A['model.safetensors']!.byteLength);
    expect(r.progress.last.percent).toBeCloseTo(100, 6);
    expect(r.progress.last.tensorsDone).toBe(r.progress.last.tensorsTotal);
    expect(r.progress.maxSpeed).toBeGreaterThan(0);
    expect(r.progress.anyTimeLeft).toBe(true);
    expect(r.progress.phases).toEqual(['metadata', 'weights', 'finalize', 'done']);
    expect(r.hashes).toEqual(hashesOf(A));
    const fx = loadFixture('tiny-a');
    for (const [seq, logits] of Object.entries(r.logits)) {
      expect(relMaxDiff(logits, fx.expected.float32(`${seq}.logits`)), seq).toBeLessThan(1e-3);
    }
    const cached = await cacheList(page);
    const entry = cached.find((m) => m.model === 'test/tiny-a@main')!;
    expect(entry.files.map((f) => f.file).sort()).toEqual(['config.json', 'model.safetensors']);
    expect(entry.bytes).toBe(A['model.safetensors']!.byteLength + A['config.json']!.byteLength);
  });

  test('sharded F32: every shard streamed, logits match the fixture', async () => {
    await openHarness(page);
    const r = await load(page, { hubUrl, repo: 'test/tiny-b-sharded', sequences: sequences('tiny-b') });
    if (!r.ok) throw new Error(r.message);
    expect(r.files.filter((f) => f.file.endsWith('.safetensors')).length).toBe(3);
    expect(r.hashes).toEqual(hashesOf(B));
    const fx = loadFixture('tiny-b');
    for (const [seq, logits] of Object.entries(r.logits)) {
      expect(relMaxDiff(logits, fx.expected.float32(`${seq}.logits`)), seq).toBeLessThan(1e-3);
    }
  });

  test('BF16: the stored values arrive bit-exact; logits match the CPU reference on them', async () => {
    await openHarness(page);
    const seqs = sequences('tiny-b');
    const r = await load(page, { hubUrl, repo: 'test/tiny-b-bf16', precision: 'f32', sequences: seqs });
    if (!r.ok) throw new Error(r.message);
    expect(r.checkpointDtype).toBe('BF16');
    expect(r.hashes).toEqual(hashesOf(B_BF16));
    const config = parseMambaConfig(JSON.parse(new TextDecoder().decode(B_BF16['config.json'])));
    const w = weightsFromSource(config, safetensorsSource(new SafetensorsFile(B_BF16['model.safetensors']!)));
    for (const [seq, logits] of Object.entries(r.logits)) {
      expect(relMaxDiff(logits, referenceForward(w, seqs[seq]!).logits), seq).toBeLessThan(1e-3);
    }
  });

  test('a connection dropped mid-file is resumed with a Range request from the CDN', async () => {
    await openHarness(page);
    const r = await load(page, { hubUrl, repo: 'test/tiny-a-flaky', sequences: sequences('tiny-a', 1) });
    if (!r.ok) throw new Error(r.message);
    expect(r.hashes).toEqual(hashesOf(A));
    const cdn = hub!.log.filter(
      (x) => x.server === 'cdn' && x.method === 'GET' && x.path.startsWith('/lfs/'),
    );
    const resumed = cdn.filter((x) => x.status === 206);
    expect(resumed.length).toBe(1);
    const from = Number(/^bytes=(\d+)-$/.exec(resumed[0]!.range!)![1]);
    expect(from).toBeGreaterThan(0);
    expect(from).toBeLessThanOrEqual(150_000);
    expect(resumed[0]!.bytesSent).toBe(A['model.safetensors']!.byteLength - from);
    const fx = loadFixture('tiny-a');
    for (const [seq, logits] of Object.entries(r.logits)) {
      expect(relMaxDiff(logits, fx.expected.float32(`${seq}.logits`)), seq).toBeLessThan(1e-3);
    }
  });

  test('local files from a file picker, and a folder handle (OPFS), load the same tensors', async () => {
    await openHarness(page);
    const files = sharded(B, 2);
    await page.evaluate(() => {
      const input = document.createElement('input');
      input.type = 'file';
      input.multiple = true;
      input.id = 'pick';
      document.body.append(input);
    });
    await page.setInputFiles(
      '#pick',
      Object.entries(files).map(([name, bytes]) => ({
        name,
        mimeType: 'application/octet-stream',
        buffer: Buffer.from(bytes),
      })),
    );
    const req: LoadRequest = { sequences: sequences('tiny-b', 1) };
    const picked = (await page.evaluate(
      (r) =>
        (
          window as unknown as {
            soup: { loading: { loadFromPicked: (s: string, r: unknown) => Promise<unknown> } };
          }
        ).soup.loading.loadFromPicked('#pick', r),
      req,
    )) as LoadResult;
    if (!picked.ok) throw new Error(picked.message);
    expect(picked.hashes).toEqual(hashesOf(B));
    const fx = loadFixture('tiny-b');
    for (const [seq, logits] of Object.entries(picked.logits)) {
      expect(relMaxDiff(logits, fx.expected.float32(`${seq}.logits`)), seq).toBeLessThan(1e-3);
    }

    const b64 = Object.fromEntries(
      Object.entries(asDtype(B, 'F16')).map(([n, b]) => [n, Buffer.from(b).toString('base64')]),
    );
    const fromDir = (await page.evaluate(
      async ([files, r]) => {
        const loading = (
          window as unknown as {
            soup: {
              loading: {
                writeOpfs: (d: string, f: unknown) => Promise<void>;
                loadFromOpfs: (d: string, r: unknown) => Promise<unknown>;
              };
            };
          }
        ).soup.loading;
        await loading.writeOpfs('tiny-b-f16', files);
        return loading.loadFromOpfs('tiny-b-f16', r);
      },
      [b64, {}] as const,
    )) as LoadResult;
    if (!fromDir.ok) throw new Error(fromDir.message);
    expect(fromDir.checkpointDtype).toBe('F16');
    expect(fromDir.precision).toBe('f16');
    expect(fromDir.hashes).toEqual(hashesOf(asDtype(B, 'F16')));
  });

  test('cancelling mid-download frees the engine and caches nothing of the weights', async () => {
    await openHarness(page);
    await cacheDelete(page, 'test/tiny-b-bf16@main');
    const r = await load(page, { hubUrl, repo: 'test/tiny-b-bf16', abortAfterBytes: 100_000 });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.name).toBe('AbortError');
    expect(r.sinks).toBe(1);
    expect(r.destroyed).toBe(1);
    const entry = (await cacheList(page)).find((m) => m.model === 'test/tiny-b-bf16@main');
    expect(entry?.files.map((f) => f.file) ?? []).not.toContain('model.safetensors');
  });

  test('with the server stopped, a reload loads every file from the cache', async () => {
    await hub!.close();
    hub = undefined;
    await openHarness(page);
    await page.reload();
    await expect(page.locator('body')).toHaveAttribute('data-ready', 'true');
    for (const [repo, name] of [
      ['test/tiny-a', 'tiny-a'],
      ['test/tiny-b-sharded', 'tiny-b'],
    ] as const) {
      const r = await load(page, { hubUrl, repo, sequences: sequences(name, 1) });
      if (!r.ok) throw new Error(r.message);
      expect(r.files.every((f) => f.fromCache)).toBe(true);
      const fx = loadFixture(name);
      for (const [seq, logits] of Object.entries(r.logits)) {
        expect(relMaxDiff(logits, fx.expected.float32(`${seq}.logits`)), seq).toBeLessThan(1e-3);
      }
    }
    // Not cached and the server is gone: a clear network message, nothing left on the GPU.
    await cacheDelete(page, 'test/tiny-a@main');
    const gone = await load(page, { hubUrl, repo: 'test/tiny-a' });
    expect(gone.ok).toBe(false);
    if (!gone.ok) {
      expect(gone.message).toMatch(
        /^The connection failed while downloading test\/tiny-a@main\/config\.json/,
      );
      expect(gone.destroyed).toBe(gone.sinks);
    }
  });

  test('the cache view: sizes, storage estimate, persist, delete', async () => {
    await openHarness(page);
    const before = await cacheList(page);
    const sharded3 = before.find((m) => m.model === 'test/tiny-b-sharded@main')!;
    expect(sharded3.files.length).toBe(5); // config, index, three shards
    const status = await page.evaluate(() =>
      (
        window as unknown as {
          soup: { loading: { storage: () => Promise<{ usage?: number; quota?: number }> } };
        }
      ).soup.loading.storage(),
    );
    expect(status.usage).toBeGreaterThan(0);
    expect(status.quota).toBeGreaterThan(status.usage!);
    const persisted = await page.evaluate(() =>
      (
        window as unknown as { soup: { loading: { persist: () => Promise<boolean> } } }
      ).soup.loading.persist(),
    );
    expect(typeof persisted).toBe('boolean');
    expect(await cacheDelete(page, 'test/tiny-b-sharded@main')).toBe(5);
    expect((await cacheList(page)).some((m) => m.model === 'test/tiny-b-sharded@main')).toBe(false);
  });
});
