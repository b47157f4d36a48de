import { expect, test } from '@playwright/test';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { repoFromFolder, startHubServer, type HubServer } from '../tests/helpers/hub-server.ts';
import { readPerplexity, saveState, serveTinyModel } from './app-helpers.ts';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '../tests/fixtures');
let hub: HubServer;

test.beforeAll(async () => {
  const files = repoFromFolder(join(FIXTURES, 'tiny-a'));
  delete files['expected.safetensors'];
  // Small LFS threshold: the weights go through the hub's redirect to its CDN origin, as on the real hub.
  hub = await startHubServer({
    repos: { 'test-org/tiny-mamba': files },
    lfsThreshold: 1024,
    chunkDelayMs: 150,
  });
});
test.afterAll(async () => hub.close());

test('loading a model from the (local) hub by repo id, with progress, then using it', async ({ page }) => {
  await serveTinyModel(page, 'tiny-b');
  await page.goto(`/?view=lab&hub=${encodeURIComponent(hub.url)}`);
  await expect(page.getByRole('status').filter({ hasText: 'Model ready' })).toBeVisible();
  await expect(page.locator('.model-info')).toContainText('fixture/tiny-b');

  await page.getByText('Choose another model').click();
  await page.getByRole('combobox', { name: 'Hub repo id' }).fill('test-org/tiny-mamba');
  // The progress bar may come and go between two polls: record whether it was ever shown.
  await page.evaluate(() => {
    const w = window as unknown as { sawProgress: boolean };
    w.sawProgress = false;
    new MutationObserver(() => {
      if (document.querySelector('progress[aria-label="Model loading progress"]')) w.sawProgress = true;
    }).observe(document.body, { subtree: true, childList: true, attributes: true });
  });
  await page.getByRole('button', { name: 'Load from hub' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Model ready' })).toBeVisible();
  await expect(page.locator('.model-info')).toContainText('test-org/tiny-mamba');
  await expect(page.locator('.model-info')).toContainText('2 layers × d_model 64');
  expect(await page.evaluate(() => (window as unknown as { sawProgress: boolean }).sawProgress)).toBe(true);
  await expect(page.getByRole('alert')).toHaveCount(0);
  // The weights came through the hub's redirect to its CDN origin.
  expect(
    hub.log.some((r) => r.server === 'hub' && r.path.endsWith('/model.safetensors') && r.status === 302),
  ).toBe(true);
  expect(hub.log.some((r) => r.server === 'cdn' && r.path.startsWith('/lfs/'))).toBe(true);

  await saveState(page, 'hubstate', 'states from a hub model. ');
  await page.getByRole('checkbox', { name: 'Mix hubstate' }).check();
  await page.getByRole('textbox', { name: 'Evaluation text' }).fill('a hub model scores this');
  expect(await readPerplexity(page)).toBeGreaterThan(1);

  // A repo that does not exist: a clear message, and the page keeps working with what it had.
  await page.getByRole('combobox', { name: 'Hub repo id' }).fill('test-org/missing');
  await page.getByRole('button', { name: 'Load from hub' }).click();
  await expect(page.getByRole('alert').filter({ hasText: 'test-org/missing' })).toBeVisible();
  await expect(page.getByRole('list', { name: 'Stored states' }).getByText('hubstate')).toBeVisible();
});
