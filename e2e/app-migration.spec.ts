/**
 * One weights hash: the app's worker tags states with the same "w2-" digest that Node code gets from
 * hashModelWeights, and a state an older version saved under the retired "s1-" fingerprint of the same model
 * is taken from storage and re-tagged, not dropped or recomputed.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test, type Page } from '@playwright/test';
import { hashesOfModelDir } from '../tests/helpers/bundled-hashes.ts';
import { openDrawer, saveState } from './app-helpers.ts';

const DIR = join(dirname(fileURLToPath(import.meta.url)), '../public/models/soup-mamba-4.6m');

interface Rec {
  weightsHash: string;
  createdAt: number;
  marker: number;
}

/** Reads (and optionally rewrites) the stored record of the state named `name`, straight from IndexedDB. */
function record(page: Page, name: string, retag?: { hash: string; createdAt: number; marker: number }) {
  return page.evaluate(
    async ({ name, retag }) => {
      const db = await new Promise<IDBDatabase>((ok, fail) => {
        const r = indexedDB.open('state-soup-states');
        r.onsuccess = () => ok(r.result);
        r.onerror = () => fail(r.error);
      });
      const done = (r: IDBRequest) =>
        new Promise<unknown>((ok, fail) => {
          r.onsuccess = () => ok(r.result);
          r.onerror = () => fail(r.error);
        });
      const tx = db.transaction(['meta', 'tensors'], 'readwrite');
      const metas = (await done(tx.objectStore('meta').getAll())) as Record<string, unknown>[];
      const meta = metas.find((m) => m['name'] === name)!;
      const tensors = (await done(tx.objectStore('tensors').get(meta['id'] as string))) as {
        ssm: ArrayBuffer | Float32Array;
      };
      const ssm =
        tensors.ssm instanceof Float32Array ? tensors.ssm : new Float32Array(tensors.ssm as ArrayBuffer);
      if (retag) {
        meta['weightsHash'] = retag.hash;
        meta['modelKey'] = `${meta['modelId'] as string}#${retag.hash}`;
        meta['createdAt'] = retag.createdAt;
        ssm[0] = retag.marker;
        await done(tx.objectStore('meta').put(meta));
        await done(
          tx
            .objectStore('tensors')
            .put({ ...tensors, ssm: tensors.ssm instanceof Float32Array ? ssm : ssm.buffer }),
        );
      }
      db.close();
      return { weightsHash: meta['weightsHash'], createdAt: meta['createdAt'], marker: ssm[0] } as Rec;
    },
    { name, retag },
  );
}

test('the app tags states with the Node weights hash; an "s1-" state of the same model is re-tagged, not lost', async ({
  page,
}) => {
  const { w2, s1 } = hashesOfModelDir(DIR);
  expect(w2).toMatch(/^w2-[0-9a-f]{16}$/);
  expect(s1).toMatch(/^s1-[0-9a-f]{16}$/);

  await page.goto('/?view=lab');
  await expect(page.getByRole('status').filter({ hasText: 'Model ready' })).toBeVisible();
  await saveState(page, 'old', 'hot->cold\nbig->small\n');
  await openDrawer(page, 'Retrieval');
  const ready = page.getByRole('region', { name: 'Retrieval' }).getByLabel('States to rank');
  await expect(ready).toHaveText('1 of 1 stored states ready to rank.');
  const made = await record(page, 'old');
  // The worker's streamed digest equals the one Node computes from the file.
  expect(made.weightsHash).toBe(w2);

  // Make it look like an older version saved it: the s1 tag, an old date and a marker value in its tensors
  // (a recomputed state would lose the marker and get a new date).
  await record(page, 'old', { hash: s1, createdAt: 1, marker: 12345 });
  await page.reload();
  await expect(page.getByRole('status').filter({ hasText: 'Model ready' })).toBeVisible();
  await expect(ready).toHaveText('1 of 1 stored states ready to rank.');
  await expect.poll(async () => (await record(page, 'old')).weightsHash).toBe(w2);
  const migrated = await record(page, 'old');
  expect(migrated.createdAt).toBe(1);
  expect(migrated.marker).toBe(12345);

  // A state tagged with another weights hash is not taken: it is recomputed from its text.
  await record(page, 'old', { hash: 's1-0000000000000000', createdAt: 2, marker: 54321 });
  await page.reload();
  await expect(page.getByRole('status').filter({ hasText: 'Model ready' })).toBeVisible();
  await expect(ready).toHaveText('1 of 1 stored states ready to rank.');
  await expect.poll(async () => (await record(page, 'old')).weightsHash).toBe(w2);
  const recomputed = await record(page, 'old');
  expect(recomputed.createdAt).toBeGreaterThan(2);
  expect(recomputed.marker).not.toBe(54321);
});
