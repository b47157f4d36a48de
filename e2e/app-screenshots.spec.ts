/**
 * Screenshots of the main views for the README (docs/screenshots/), taken on the bundled model in real
 * Chromium. Run on purpose: SOUP_SCREENSHOTS=1 npx playwright test -c e2e/app.playwright.config.ts app-screenshots
 */
import { expect, test } from '@playwright/test';
import { openDrawer } from './app-helpers.ts';

test.skip(!process.env['SOUP_SCREENSHOTS'], 'takes screenshots only when SOUP_SCREENSHOTS=1');

test('screenshots of the playground', async ({ page }) => {
  test.setTimeout(600_000);
  await page.setViewportSize({ width: 1440, height: 1300 });
  await page.goto('/?view=lab');
  await expect(page.getByRole('status').filter({ hasText: 'Model ready' })).toBeVisible();
  await page.screenshot({ path: 'docs/screenshots/01-first-view.png' });

  // A task preset: three antonym states mixed, a held-out query and evaluation text.
  await page.getByRole('button', { name: 'Make task states' }).click();
  const list = page.getByRole('list', { name: 'Stored states' });
  await expect(list.getByRole('listitem')).toHaveCount(3);
  await expect(list.locator('.library-meta', { hasText: /\d+ tokens/ })).toHaveCount(3);
  await page.getByRole('textbox', { name: 'State text' }).fill('hot->cold\nbig->small\nfast->slow\n');
  await page.getByRole('textbox', { name: 'State name' }).fill('my antonyms');
  await page.getByRole('button', { name: 'Save state' }).click();
  const out = page.getByLabel('Perplexity', { exact: true });
  await expect(out).toHaveText(/\d/);
  await page.getByRole('button', { name: 'Generate' }).click();
  await expect(page.getByRole('region', { name: 'Generation' }).getByText('generating…')).toHaveCount(0, {
    timeout: 300_000,
  });
  await expect(page.locator('.baselines td', { hasText: '…' })).toHaveCount(0, { timeout: 300_000 });
  await page.screenshot({ path: 'docs/screenshots/02-mix-three-states.png', fullPage: true });

  await page.getByRole('button', { name: /Run sweep/ }).click();
  await expect(page.locator('.sweep-chart')).toBeVisible({ timeout: 300_000 });
  await page.getByRole('button', { name: 'Inspect stored states' }).click();
  await expect(page.locator('.heatmap')).toBeVisible();
  await page.locator('.sweep').screenshot({ path: 'docs/screenshots/03-sweep.png' });
  await page.locator('.heatmap').screenshot({ path: 'docs/screenshots/04-similarity.png' });
  await page.screenshot({ path: 'docs/screenshots/05-full-page.png', fullPage: true });
});

test('screenshot of the page without WebGPU', async ({ page }) => {
  await page.addInitScript(() => delete (Navigator.prototype as unknown as { gpu?: unknown }).gpu);
  await page.setViewportSize({ width: 1000, height: 700 });
  await page.goto('/?view=lab');
  await expect(page.getByRole('heading', { name: 'State Soup Playground needs WebGPU' })).toBeVisible();
  await page.screenshot({ path: 'docs/screenshots/06-no-webgpu.png' });
});

test('screenshots of the retrieval and storage panels', async ({ page }) => {
  test.setTimeout(300_000);
  await page.setViewportSize({ width: 1440, height: 1300 });
  await page.goto('/?view=lab');
  await expect(page.getByRole('status').filter({ hasText: 'Model ready' })).toBeVisible();
  const save = async (name: string, text: string) => {
    await page.getByRole('textbox', { name: 'State text' }).fill(text);
    await page.getByRole('textbox', { name: 'State name' }).fill(name);
    await page.getByRole('button', { name: 'Save state' }).click();
  };
  await save('antonyms 1', 'begin->end\nbelow->above\nbig->little\nblack->white\n');
  await save('capitals', 'Chile->Santiago\nChina->Beijing\nCroatia->Zagreb\nCuba->Havana\n');
  await save('antonyms 2', 'able->unable\nabove->below\nalive->dead\naccept->refuse\n');
  await openDrawer(page, 'Retrieval');
  await openDrawer(page, 'Storage');
  const retrieval = page.getByRole('region', { name: 'Retrieval' });
  await expect(retrieval.getByLabel('States to rank')).toHaveText('3 of 3 stored states ready to rank.');
  await retrieval.getByRole('textbox', { name: 'Retrieval query' }).fill('best->worst\nbirth->death\n');
  await retrieval.getByRole('button', { name: 'Rank states' }).click();
  await expect(retrieval.getByRole('list', { name: 'Retrieved states' }).getByRole('listitem')).toHaveCount(
    3,
  );
  await retrieval.getByRole('button', { name: 'Mix top k' }).click();
  await expect(page.getByRole('checkbox', { name: 'Mix antonyms 2' })).toBeChecked();
  await retrieval.screenshot({ path: 'docs/screenshots/07-retrieval.png' });
  const storage = page.getByRole('region', { name: 'Storage' });
  await expect(storage.getByLabel('Size of saved states')).toHaveText(/^3 states/);
  await storage.getByRole('button', { name: 'Keep data persistent' }).focus();
  await storage.screenshot({ path: 'docs/screenshots/08-storage.png' });
});

test('screenshots of presenter mode, the PCA map and predict-then-reveal', async ({ page }) => {
  test.setTimeout(600_000);
  await page.setViewportSize({ width: 1440, height: 1100 });
  await page.goto('/?view=lab&present=1');
  await expect(page.getByRole('status').filter({ hasText: 'Model ready' })).toBeVisible();
  const list = page.getByRole('list', { name: 'Stored states' });
  let made = 0;
  for (const task of ['capital', 'uppercase', 'antonym']) {
    await page.getByRole('combobox', { name: 'Task' }).selectOption(task);
    await page.getByRole('button', { name: 'Make task states' }).click();
    made += 3;
    await expect(list.locator('.library-meta', { hasText: /\d+ tokens/ })).toHaveCount(made);
  }
  await page.getByRole('button', { name: 'Inspect stored states' }).click();
  const map = page.locator('.pca');
  await expect(map.getByRole('img')).toHaveCount(made);
  await map.getByRole('img').last().hover();
  await map.screenshot({ path: 'docs/screenshots/09-pca.png' });

  await page.getByRole('checkbox', { name: 'Predict, then reveal' }).check();
  await page.getByRole('textbox', { name: 'Your prediction' }).fill('cold');
  await page.getByRole('button', { name: 'Generate' }).click();
  const region = page.getByRole('region', { name: 'Generation' });
  await expect(region.getByText('still generating')).toHaveCount(0, { timeout: 300_000 });
  await page.screenshot({ path: 'docs/screenshots/10-presenter.png' });
  await page.getByRole('button', { name: 'Reveal' }).click();
  await expect(page.getByLabel('Prediction check')).toContainText('The mix answered');
  await expect(region.getByText('generating…')).toHaveCount(0, { timeout: 300_000 });
  await page
    .getByRole('region', { name: 'Continuation' })
    .screenshot({ path: 'docs/screenshots/11-predict-reveal.png' });
});

test('screenshot of a story step', async ({ page }) => {
  test.setTimeout(600_000);
  await page.setViewportSize({ width: 1366, height: 768 });
  await page.goto('/');
  await expect(page.getByRole('status').filter({ hasText: 'Model ready' })).toBeVisible();
  const panel = page.getByRole('region', { name: 'Stories' });
  await panel
    .getByRole('combobox', { name: 'Story' })
    .selectOption({ label: 'Mixing two tasks is a switch, not a blend' });
  await panel.getByRole('button', { name: 'Next' }).click();
  await panel.getByRole('textbox', { name: 'Your guess' }).fill('TRACE');
  await panel.getByRole('button', { name: 'Run this step' }).click();
  await expect(panel.getByRole('status', { name: 'Step result' })).toBeVisible({ timeout: 300_000 });
  await panel.screenshot({ path: 'docs/screenshots/12-story.png' });
});
