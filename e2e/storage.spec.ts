/**
 * The state library in real Chromium (IndexedDB through src/storage, exposed by src/harness/parts/storage.ts):
 * save, list, reload, delete, export → import, refused files, a full disk, and the v1 → v2 → v3 schema upgrades;
 * and the facade's other stores: the model cache (Cache Storage) and localStorage's full-disk flag.
 */
import { expect, test, type Page } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SeededState } from '../src/harness/parts/storage.ts';
import type { StateMeta, StateShape } from '../src/engine/states/types.ts';

type Result<T> = { ok: T } | { error: string; message: string };
interface StorageApi {
  deleteDb(db: string): Promise<void>;
  seededBits(s: SeededState): number[][];
  save(db: string, s: SeededState[]): Promise<Result<void>>;
  list(db: string, modelId: string, hash: string): Promise<StateMeta[]>;
  models(db: string): Promise<{ modelId: string; weightsHash: string; count: number; bytes: number }[]>;
  loadAll(db: string, modelId: string, hash: string): Promise<{ id: string; bits: number[][] }[]>;
  load(db: string, id: string): Promise<Result<{ meta: StateMeta; bits: number[][] }>>;
  remove(db: string, ids: string[]): Promise<void>;
  exportFile(db: string, ids: string[]): Promise<string>;
  importFile(db: string, b64: string, name: string, expect: unknown): Promise<Result<StateMeta[]>>;
  seedModelCache(model: string, files: { name: string; bytes: number }[]): Promise<void>;
  clearModelCache(): Promise<boolean>;
  cachedModels(): Promise<
    { model: string; bytes: number; files: { file: string; bytes: number }[] }[] | undefined
  >;
  deleteCachedModel(model: string): Promise<number>;
  localWrite(
    key: string,
    value: string,
    repeat?: number,
  ): { threw?: string; kept: number | null; full: string | null };
  localRemove(key: string): void;
  estimate(): Promise<{ usage?: number; quota?: number; persisted?: boolean }>;
  seededDigest(s: SeededState): Promise<string>;
  largeRoundTrip(db: string, into: string, s: SeededState[], expect: unknown): Promise<Result<unknown>>;
}

const DB = 'state-soup-e2e';
const shape: StateShape = { layers: 2, dInner: 24, dState: 4, convWidth: 3 };
const modelA = { modelId: 'state-spaces/mamba-130m-hf', weightsHash: 'w1-aaaaaaaaaaaaaaaa' };
const modelB = { modelId: 'state-spaces/mamba-370m-hf', weightsHash: 'w1-bbbbbbbbbbbbbbbb' };
const seeded = (i: number, model = modelA, extra: Partial<SeededState> = {}): SeededState => ({
  id: `id-${i}`,
  name: `state ${i}`,
  seed: i,
  shape,
  ...model,
  ...extra,
});

async function open(page: Page) {
  await page.goto('/harness.html');
  await expect(page.locator('body')).toHaveAttribute('data-ready', 'true');
}

/** Calls window.soup.storage[name](...args) in the page. */
function call<T>(page: Page, name: keyof StorageApi, ...args: unknown[]): Promise<T> {
  return page.evaluate(
    ([n, a]) => {
      const api = (window as unknown as { soup: { storage: Record<string, (...x: unknown[]) => unknown> } })
        .soup.storage;
      return api[n as string]!(...(a as unknown[])) as Promise<T>;
    },
    [name, args] as const,
  );
}

test.beforeEach(async ({ page }) => {
  await open(page);
  await call(page, 'deleteDb', DB);
});

test('save, list by model, survive a reload, load bit for bit, delete', async ({ page }) => {
  const states = [seeded(1, modelA, { taskLabel: 'antonyms' }), seeded(2), seeded(3, modelB)];
  expect(await call(page, 'save', DB, states)).toEqual({ ok: undefined });
  await page.reload();
  await expect(page.locator('body')).toHaveAttribute('data-ready', 'true');

  const listA = await call<StateMeta[]>(page, 'list', DB, modelA.modelId, modelA.weightsHash);
  expect(listA.map((m) => m.id)).toEqual(['id-1', 'id-2']);
  expect(listA[0]!.taskLabel).toBe('antonyms');
  expect(listA[0]!.tokenIds).toEqual([1, 2, 3, 1]);
  const listB = await call<StateMeta[]>(page, 'list', DB, modelB.modelId, modelB.weightsHash);
  expect(listB.map((m) => m.id)).toEqual(['id-3']);
  // The same model id with other weights is another model: kept apart.
  expect(await call<StateMeta[]>(page, 'list', DB, modelA.modelId, 'w1-0000000000000000')).toEqual([]);
  const models = await call<{ count: number; bytes: number }[]>(page, 'models', DB);
  expect(models.map((m) => m.count).sort()).toEqual([1, 2]);

  const loaded = await call<Result<{ meta: StateMeta; bits: number[][] }>>(page, 'load', DB, 'id-2');
  if (!('ok' in loaded)) throw new Error(loaded.message);
  expect(loaded.ok.bits).toEqual(await call(page, 'seededBits', seeded(2)));

  const all = await call<{ id: string; bits: number[][] }[]>(
    page,
    'loadAll',
    DB,
    modelA.modelId,
    modelA.weightsHash,
  );
  expect(all.map((x) => x.id)).toEqual(['id-1', 'id-2']);
  expect(all[0]!.bits).toEqual(await call(page, 'seededBits', states[0]));

  await call(page, 'remove', DB, ['id-1']);
  await page.reload();
  await expect(page.locator('body')).toHaveAttribute('data-ready', 'true');
  expect(
    (await call<StateMeta[]>(page, 'list', DB, modelA.modelId, modelA.weightsHash)).map((m) => m.id),
  ).toEqual(['id-2']);
  const gone = await call<Result<unknown>>(page, 'load', DB, 'id-1');
  expect(gone).toMatchObject({ error: 'StateNotFoundError' });
});

test('export → import round trip is bit-identical; foreign and corrupt files are refused and change nothing', async ({
  page,
}) => {
  await call(page, 'save', DB, [seeded(4, modelA, { taskLabel: 'plural' }), seeded(5)]);
  const file = await call<string>(page, 'exportFile', DB, ['id-4', 'id-5']);
  const before = await call<StateMeta[]>(page, 'list', DB, modelA.modelId, modelA.weightsHash);
  await call(page, 'remove', DB, ['id-4', 'id-5']);

  const imported = await call<Result<StateMeta[]>>(page, 'importFile', DB, file, 'two.safetensors', {
    ...modelA,
    shape,
  });
  expect(imported).toEqual({ ok: before });
  for (const i of [4, 5]) {
    const got = await call<Result<{ meta: StateMeta; bits: number[][] }>>(page, 'load', DB, `id-${i}`);
    if (!('ok' in got)) throw new Error(got.message);
    expect(got.ok.bits).toEqual(await call(page, 'seededBits', seeded(i)));
  }
  expect(await call(page, 'list', DB, modelA.modelId, modelA.weightsHash)).toEqual(before);

  // A state of another model.
  const foreign = await call<Result<unknown>>(page, 'importFile', DB, file, 'two.safetensors', {
    ...modelB,
    shape,
  });
  expect(foreign).toMatchObject({ error: 'StateFileError' });
  expect('message' in foreign && foreign.message).toContain('Load state-spaces/mamba-130m-hf to import it');
  // A model checkpoint, which is safetensors but not a state.
  const checkpoint = readFileSync(
    join(import.meta.dirname, '../tests/fixtures/tiny-a/model.safetensors'),
  ).toString('base64');
  expect(
    await call(page, 'importFile', DB, checkpoint, 'model.safetensors', { ...modelA, shape }),
  ).toMatchObject({
    error: 'StateFileError',
    message: expect.stringContaining('not a saved state'),
  });
  // A truncated state file.
  const truncated = Buffer.from(file, 'base64').subarray(0, 400).toString('base64');
  expect(
    await call(page, 'importFile', DB, truncated, 'cut.safetensors', { ...modelA, shape }),
  ).toMatchObject({ error: 'StateFileError' });
  expect(await call(page, 'list', DB, modelA.modelId, modelA.weightsHash)).toEqual(before);
  expect(await call(page, 'list', DB, modelB.modelId, modelB.weightsHash)).toEqual([]);
});

test('a full disk gives StorageFullError and loses nothing saved before', async ({ browser }) => {
  // A fresh context whose quota is overridden before IndexedDB is first touched: Chromium reads the quota
  // when the origin's storage is opened (navigator.storage.estimate() keeps reporting the real one).
  const context = await browser.newContext();
  const page = await context.newPage();
  try {
    await page.goto('/harness.html');
    const cdp = await context.newCDPSession(page);
    const origin = new URL(page.url()).origin;
    // 256 KiB for the whole origin: room for a small state, not for the 5 MB one below.
    await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: 256 * 1024 });
    await expect(page.locator('body')).toHaveAttribute('data-ready', 'true');
    expect(await call(page, 'save', DB, [seeded(6)])).toEqual({ ok: undefined });
    // A Mamba-2 state (16 heads × 64 × state 128, 4 layers: 2.1 MB with its conv window and Σ Δ).
    const m2: StateShape = {
      family: 'mamba2',
      layers: 4,
      dInner: 1024,
      dState: 128,
      convWidth: 3,
      numHeads: 16,
      headDim: 64,
      nGroups: 1,
    };
    const big = seeded(7, modelA, { shape: m2 });
    const res = await call<Result<void>>(page, 'save', DB, [seeded(8), big]);
    expect(res).toMatchObject({
      error: 'StorageFullError',
      message: expect.stringContaining('everything saved before is kept'),
    });
    // The size it needed, so the user knows how much to free: 4·(16·64·128 + 1280·3 + 16)·4 B + the small one.
    expect((res as { message: string }).message).toContain('these 2 states (2 MB)');
    // The transaction was all or nothing: id-8 (small, in the same save) is absent, id-6 intact.
    const list = await call<StateMeta[]>(page, 'list', DB, modelA.modelId, modelA.weightsHash);
    expect(list.map((m) => m.id)).toEqual(['id-6']);
    const got = await call<Result<{ bits: number[][] }>>(page, 'load', DB, 'id-6');
    if (!('ok' in got)) throw new Error(got.message);
    expect(got.ok.bits).toEqual(await call(page, 'seededBits', seeded(6)));
  } finally {
    await context.close();
  }
});

test('schema upgrade: a version-1 database written by hand is migrated (v1 → v2 → v3) with nothing lost', async ({
  page,
}) => {
  const v1 = seeded(9, modelA, { taskLabel: 'capitals' });
  const bits = await call<number[][]>(page, 'seededBits', v1);
  // Write the v1 layout directly with the raw IndexedDB API: one "states" store, one record per state.
  await page.evaluate(
    ([db, s, b]) =>
      new Promise<void>((resolve, reject) => {
        const req = indexedDB.open(db, 1);
        req.onupgradeneeded = () => req.result.createObjectStore('states', { keyPath: 'id' });
        req.onerror = () => reject(req.error);
        req.onsuccess = () => {
          const d = req.result;
          // bits per layer: [ssm, conv, dtSum]; the v1 record stacks each tensor over layers.
          const stack = (k: number) => {
            const words = b.filter((_, i) => i % 3 === k).flat();
            return Uint32Array.from(words).buffer;
          };
          const tx = d.transaction('states', 'readwrite');
          tx.objectStore('states').put({
            id: s.id,
            name: s.name,
            modelId: s.modelId,
            weightsHash: s.weightsHash,
            text: 'written by version 1',
            tokenIds: [7, 8, 9],
            createdAt: 1234,
            taskLabel: s.taskLabel,
            layers: s.shape.layers,
            dInner: s.shape.dInner,
            dState: s.shape.dState,
            convWidth: s.shape.convWidth,
            ssm: stack(0),
            conv: stack(1),
            dtSum: stack(2),
          });
          tx.oncomplete = () => {
            d.close();
            resolve();
          };
          tx.onerror = () => reject(tx.error);
        };
      }),
    [DB, v1, bits] as const,
  );

  const list = await call<StateMeta[]>(page, 'list', DB, modelA.modelId, modelA.weightsHash);
  expect(list).toEqual([
    {
      id: 'id-9',
      name: 'state 9',
      modelId: modelA.modelId,
      weightsHash: modelA.weightsHash,
      shape,
      text: 'written by version 1',
      tokenIds: [7, 8, 9],
      tokenCount: 3,
      createdAt: 1234,
      taskLabel: 'capitals',
    },
  ]);
  const got = await call<Result<{ bits: number[][] }>>(page, 'load', DB, 'id-9');
  if (!('ok' in got)) throw new Error(got.message);
  expect(got.ok.bits).toEqual(bits);
  const stores = await page.evaluate(
    (db) =>
      new Promise<{ version: number; names: string[] }>((resolve) => {
        const req = indexedDB.open(db);
        req.onsuccess = () => {
          const r = { version: req.result.version, names: [...req.result.objectStoreNames] };
          req.result.close();
          resolve(r);
        };
      }),
    DB,
  );
  expect(stores).toEqual({ version: 3, names: ['meta', 'tensors'] });
  expect(await call(page, 'models', DB)).toEqual([
    { ...modelA, family: 'mamba1', count: 1, bytes: bits.flat().length * 4 },
  ]);
});

test('schema upgrade v2 → v3 (metaV2ToV3): every record of a version-2 database becomes family "mamba1", nothing lost', async ({
  page,
}) => {
  const v2 = [seeded(11, modelA, { taskLabel: 'antonyms' }), seeded(12, modelA), seeded(13, modelB)];
  const bits = await Promise.all(v2.map((s) => call<number[][]>(page, 'seededBits', s)));
  // The version-2 layout, written with the raw IndexedDB API as that release's StateLibrary wrote it.
  await page.evaluate(
    ([db, states, allBits]) =>
      new Promise<void>((resolve, reject) => {
        const req = indexedDB.open(db, 2);
        req.onupgradeneeded = () => {
          const meta = req.result.createObjectStore('meta', { keyPath: 'id' });
          meta.createIndex('byModel', 'modelKey');
          meta.createIndex('byCreated', 'createdAt');
          req.result.createObjectStore('tensors', { keyPath: 'id' });
        };
        req.onerror = () => reject(req.error);
        req.onsuccess = () => {
          const d = req.result;
          const tx = d.transaction(['meta', 'tensors'], 'readwrite');
          states.forEach((s, k) => {
            const b = allBits[k]!;
            const stack = (part: number) =>
              Uint32Array.from(b.filter((_, i) => i % 3 === part).flat()).buffer;
            tx.objectStore('meta').put({
              id: s.id,
              name: s.name,
              modelId: s.modelId,
              weightsHash: s.weightsHash,
              shape: s.shape,
              text: `saved by version 2, ${k}`,
              tokenIds: [k, k + 1],
              tokenCount: 2,
              createdAt: 1000 + k,
              ...(s.taskLabel ? { taskLabel: s.taskLabel } : {}),
              modelKey: `${s.modelId}#${s.weightsHash}`,
              bytes: b.flat().length * 4,
            });
            tx.objectStore('tensors').put({ id: s.id, ssm: stack(0), conv: stack(1), dtSum: stack(2) });
          });
          tx.oncomplete = () => {
            d.close();
            resolve();
          };
          tx.onerror = () => reject(tx.error);
        };
      }),
    [DB, v2, bits] as const,
  );

  const listA = await call<StateMeta[]>(page, 'list', DB, modelA.modelId, modelA.weightsHash);
  const listB = await call<StateMeta[]>(page, 'list', DB, modelB.modelId, modelB.weightsHash);
  expect([...listA, ...listB]).toEqual(
    v2.map((s, k) => ({
      id: s.id,
      name: s.name,
      modelId: s.modelId,
      weightsHash: s.weightsHash,
      shape,
      text: `saved by version 2, ${k}`,
      tokenIds: [k, k + 1],
      tokenCount: 2,
      createdAt: 1000 + k,
      ...(s.taskLabel ? { taskLabel: s.taskLabel } : {}),
    })),
  );
  for (const [k, s] of v2.entries()) {
    const got = await call<Result<{ bits: number[][] }>>(page, 'load', DB, s.id);
    if (!('ok' in got)) throw new Error(got.message);
    expect(got.ok.bits).toEqual(bits[k]);
  }
  const models = await call<{ modelId: string; family: string; count: number }[]>(page, 'models', DB);
  expect(models.map((m) => [m.modelId, m.family, m.count]).sort()).toEqual([
    [modelA.modelId, 'mamba1', 2],
    [modelB.modelId, 'mamba1', 1],
  ]);
  const db = await page.evaluate(
    (name) =>
      new Promise<{ version: number; families: string[]; indexes: string[] }>((resolve) => {
        const req = indexedDB.open(name);
        req.onsuccess = () => {
          const tx = req.result.transaction('meta');
          const store = tx.objectStore('meta');
          const all = store.getAll();
          all.onsuccess = () => {
            resolve({
              version: req.result.version,
              families: (all.result as { family: string }[]).map((r) => r.family),
              indexes: [...store.indexNames].sort(),
            });
            req.result.close();
          };
        };
      }),
    DB,
  );
  expect(db).toEqual({
    version: 3,
    families: ['mamba1', 'mamba1', 'mamba1'],
    indexes: ['byCreated', 'byFamily', 'byModel'],
  });
});

const modelM2 = { modelId: 'org/mamba2-test', weightsHash: 'w2-cccccccccccccccc' };
const m2shape: StateShape = {
  family: 'mamba2',
  layers: 2,
  dInner: 24,
  dState: 4,
  convWidth: 3,
  numHeads: 3,
  headDim: 8,
  nGroups: 1,
};

test('Mamba-2 states: saved and loaded bit for bit, exported and imported; neither family takes the other’s file', async ({
  page,
}) => {
  const m2 = [20, 21].map((i) => seeded(i, modelM2, { shape: m2shape }));
  await call(page, 'save', DB, m2);
  const got = await call<Result<{ meta: StateMeta; bits: number[][] }>>(page, 'load', DB, 'id-20');
  if (!('ok' in got)) throw new Error(got.message);
  expect(got.ok.meta.shape).toEqual(m2shape);
  expect(got.ok.bits).toEqual(await call(page, 'seededBits', m2[0]));
  const file = await call<string>(page, 'exportFile', DB, ['id-20', 'id-21']);
  await call(page, 'remove', DB, ['id-20', 'id-21']);
  expect(await call(page, 'importFile', DB, file, 'm2.safetensors', { ...modelA, shape })).toMatchObject({
    error: 'StateFileError',
    message:
      'm2.safetensors holds Mamba-2 states (of org/mamba2-test); the loaded model is Mamba-1 (state-spaces/mamba-130m-hf). Load org/mamba2-test, a Mamba-2 model, to import them.',
  });
  expect(await call(page, 'list', DB, modelM2.modelId, modelM2.weightsHash)).toEqual([]);
  const imported = await call<Result<StateMeta[]>>(page, 'importFile', DB, file, 'm2.safetensors', {
    ...modelM2,
    shape: m2shape,
  });
  expect('ok' in imported && imported.ok.map((m) => m.id)).toEqual(['id-20', 'id-21']);
  for (const s of m2) {
    const back = await call<Result<{ bits: number[][] }>>(page, 'load', DB, s.id);
    if (!('ok' in back)) throw new Error(back.message);
    expect(back.ok.bits).toEqual(await call(page, 'seededBits', s));
  }
  // And a Mamba-1 file offered to a Mamba-2 model.
  await call(page, 'save', DB, [seeded(22)]);
  const m1file = await call<string>(page, 'exportFile', DB, ['id-22']);
  expect(
    await call(page, 'importFile', DB, m1file, 'm1.safetensors', { ...modelM2, shape: m2shape }),
  ).toMatchObject({
    error: 'StateFileError',
    message: expect.stringMatching(/^m1.safetensors holds Mamba-1 states/),
  });
  expect(await call(page, 'models', DB)).toEqual(
    expect.arrayContaining([expect.objectContaining({ ...modelM2, family: 'mamba2', count: 2 })]),
  );
});

/**
 * A Mamba-2 state at a real checkpoint's size (head 64, state 128, one group, d_conv 4) through largeRoundTrip:
 * saved, loaded, exported and imported in the page, its digest unchanged; gives the timings and file size.
 */
async function mamba2RoundTrip(page: Page, seed: number, layers: number, numHeads: number) {
  const big: StateShape = {
    family: 'mamba2',
    layers,
    dInner: numHeads * 64,
    dState: 128,
    convWidth: 3,
    numHeads,
    headDim: 64,
    nGroups: 1,
  };
  const s = seeded(seed, modelM2, { shape: big });
  await call(page, 'deleteDb', `${DB}-into`);
  const r = await call<Result<{ ms: Record<string, number>; fileBytes: number; digests: string[] }>>(
    page,
    'largeRoundTrip',
    DB,
    `${DB}-into`,
    [s],
    { ...modelM2, shape: big },
  );
  if (!('ok' in r)) throw new Error(`${r.error}: ${r.message}`);
  expect(r.ok.digests).toEqual([await call(page, 'seededDigest', s)]);
  await call(page, 'deleteDb', `${DB}-into`);
  return r.ok;
}

test('a Mamba-2 state of 130m size (19 MB) is saved, loaded, exported and imported in the page, every byte kept', async ({
  page,
}) => {
  // mamba2-130m: 24 layers, 24 heads × 64.
  const r = await mamba2RoundTrip(page, 30, 24, 24);
  console.log(`[storage] 130m Mamba-2 state, ms: ${JSON.stringify(r.ms)}, file ${r.fileBytes} B`);
  // 4 · 24 · (24·64·128 + 1792·3 + 24) bytes of tensors, plus the header.
  expect(r.fileBytes).toBeGreaterThan(4 * 24 * (24 * 64 * 128 + 1792 * 3 + 24));
  expect(r.fileBytes).toBeLessThan(4 * 24 * (24 * 64 * 128 + 1792 * 3 + 24) + 4096);
});

test('a Mamba-2 state of 2.7b size (172 MB), over Chromium’s largest IndexedDB record (127 MiB), round-trips in the page', async ({
  page,
}) => {
  test.setTimeout(240_000);
  // mamba2-2.7b: 64 layers, 80 heads × 64. Its SSM part alone is 168 MB.
  const r = await mamba2RoundTrip(page, 31, 64, 80);
  console.log(`[storage] 2.7b Mamba-2 state, ms: ${JSON.stringify(r.ms)}, file ${r.fileBytes} B`);
  expect(r.fileBytes).toBeGreaterThan(4 * 64 * (80 * 64 * 128 + 5376 * 3 + 80));
});

test('model cache through the facade: listed by checkpoint, largest first; deleting one leaves the other', async ({
  page,
}) => {
  await call(page, 'clearModelCache');
  await call(page, 'seedModelCache', 'org/small@main', [{ name: 'config.json', bytes: 300 }]);
  await call(page, 'seedModelCache', 'bundled:big', [
    { name: 'config.json', bytes: 200 },
    { name: 'model.safetensors', bytes: 5000 },
  ]);
  type Listed = { model: string; bytes: number; files: { file: string }[] }[];
  const listed = await call<Listed>(page, 'cachedModels');
  expect(listed.map((m) => [m.model, m.bytes, m.files.map((f) => f.file).sort()])).toEqual([
    ['bundled:big', 5200, ['config.json', 'model.safetensors']],
    ['org/small@main', 300, ['config.json']],
  ]);
  expect(await call(page, 'deleteCachedModel', 'bundled:big')).toBe(2);
  await page.reload();
  await expect(page.locator('body')).toHaveAttribute('data-ready', 'true');
  expect((await call<Listed>(page, 'cachedModels')).map((m) => m.model)).toEqual(['org/small@main']);
  expect(await call(page, 'deleteCachedModel', 'not-cached')).toBe(0);
  const est = await call<{ usage?: number; quota?: number }>(page, 'estimate');
  expect(est.quota).toBeGreaterThan(0);
  await call(page, 'clearModelCache');
});

test('localStorage full: the write is refused quietly, the saved value stays, and the flag says what to do', async ({
  page,
}) => {
  const key = 'soup.e2e.v1';
  await call(page, 'localRemove', key);
  expect(await call(page, 'localWrite', key, 'saved')).toEqual({ kept: 5, full: null });
  // 24 MB of UTF-16: beyond Chromium's per-origin localStorage quota (10 MiB), whatever the disk.
  const res = await call<{ threw?: string; kept: number; full: string }>(page, 'localWrite', key, 'x', 12e6);
  expect(res.threw).toBeUndefined();
  expect(res.kept).toBe(5);
  expect(res.full).toContain('Storage panel');
  await call(page, 'localRemove', key);
});
