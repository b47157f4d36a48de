/**
 * Chart images of the four studies for docs/studies.md (docs/screenshots/studies-*.png): the runs that
 * `bash bench/studies_h200.sh` wrote with OUT=docs/studies/results, saved into the Studies view's IndexedDB
 * database as the view saves them, reopened there and photographed. Run on purpose:
 *   SOUP_SCREENSHOTS=1 SOUP_E2E_PORT=… npx playwright test e2e/studies-screenshots.spec.ts
 */
import { readFileSync } from 'node:fs';
import { expect, test } from '@playwright/test';

test.skip(!process.env['SOUP_SCREENSHOTS'], 'takes screenshots only when SOUP_SCREENSHOTS=1');

const STUDIES = ['icl', 'chunked', 'retrieval', 'switch'] as const;

test('chart images of the four studies', async ({ page }) => {
  test.setTimeout(300_000);
  await page.setViewportSize({ width: 1200, height: 1000 });
  await page.goto('/?view=studies');
  await expect(page.getByRole('status').filter({ hasText: 'Model ready' })).toBeVisible();
  const runs = STUDIES.map((study, i) => {
    const outcome = { study, ...JSON.parse(readFileSync(`docs/studies/results/${study}.json`, 'utf8')) };
    const title = `${study} (docs/studies.md)`;
    const savedAt = 1_000 + i;
    const summary = { id: study, savedAt, title, study, modelId: outcome.run.model.id, complete: true };
    return { id: study, savedAt, title, outcome, summary };
  });
  // The record layout of src/storage/studyRuns.ts (database "state-soup-studies", version 1, store "runs").
  await page.evaluate(async (records) => {
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const req = indexedDB.open('state-soup-studies', 1);
      req.onupgradeneeded = () =>
        req.result.createObjectStore('runs', { keyPath: 'id' }).createIndex('bySaved', 'savedAt');
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    const tx = db.transaction('runs', 'readwrite');
    for (const r of records) tx.objectStore('runs').put(r);
    await new Promise((done) => (tx.oncomplete = done));
    db.close();
  }, runs);
  await page.reload();
  await expect(page.getByRole('status').filter({ hasText: 'Model ready' })).toBeVisible();
  for (const study of STUDIES) {
    const item = page.locator('.study-saved li', { hasText: `${study} (docs/studies.md)` });
    await item.getByRole('button', { name: 'Open' }).click();
    const result = page.getByTestId('study-result');
    await expect(result.locator('h3')).toContainText(`${study} on`);
    await expect(result.locator('.recharts-surface').first()).toBeVisible();
    await page.mouse.move(0, 0); // no tooltip in the picture
    await result
      .locator('.study-charts, .study-chart')
      .first()
      .screenshot({ path: `docs/screenshots/studies-${study}.png` });
  }
});
