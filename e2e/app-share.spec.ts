import { expect, test } from '@playwright/test';
import { openDrawer, readPerplexity, readPerplexityText, saveState, serveTinyModel } from './app-helpers.ts';

test('share URL round trip: a fresh browser opening the link rebuilds the same view', async ({
  page,
  browser,
}) => {
  await serveTinyModel(page);
  await page.goto('/?view=lab');
  await expect(page.getByRole('status').filter({ hasText: 'Model ready' })).toBeVisible();
  await saveState(page, 'red', 'red apples and red cherries. ');
  await saveState(page, 'blue', 'blue sky over a blue sea. ');
  await page.getByRole('checkbox', { name: 'Mix red' }).check();
  await page.getByRole('checkbox', { name: 'Mix blue' }).check();
  const slider = page.getByRole('slider', { name: 'Weight of blue' });
  await slider.focus();
  await page.keyboard.press('Shift+ArrowRight'); // 0.5 → 0.6
  await page.keyboard.press('Shift+ArrowRight'); // → 0.7
  await page.getByRole('textbox', { name: 'Evaluation text' }).fill('red sky over the sea');
  await page.getByRole('textbox', { name: 'Query', exact: true }).fill('blue ');
  await page.getByLabel('Seed').fill('7');
  const ppl = await readPerplexity(page);
  await expect(page.getByLabel('Perplexity', { exact: true })).toHaveAttribute('aria-busy', 'false');
  const settled = await readPerplexityText(page);

  await openDrawer(page, 'Share');
  await page.getByRole('button', { name: 'Copy share link' }).click();
  const link = await page.getByRole('textbox', { name: 'Share link' }).inputValue();
  expect(link).toContain('#r=3.'); // version 3: packed and compressed

  // A new context has empty storage: everything must come from the link.
  const other = await browser.newContext();
  const fresh = await other.newPage();
  await serveTinyModel(fresh);
  await fresh.goto(link);
  await expect(fresh.getByRole('status').filter({ hasText: 'Model ready' })).toBeVisible();
  await expect(fresh.getByRole('checkbox', { name: 'Mix red' })).toBeChecked();
  await expect(fresh.getByRole('checkbox', { name: 'Mix blue' })).toBeChecked();
  await expect(fresh.getByRole('slider', { name: 'Weight of blue' })).toHaveAttribute('aria-valuenow', '0.7');
  await expect(fresh.getByRole('textbox', { name: 'Evaluation text' })).toHaveValue('red sky over the sea');
  await expect(fresh.getByRole('textbox', { name: 'Query', exact: true })).toHaveValue('blue ');
  await expect(fresh.getByLabel('Seed')).toHaveValue('7');
  // States recomputed from the texts give the same perplexity as in the sender's page.
  await expect(fresh.getByLabel('Perplexity', { exact: true })).toHaveText(settled);
  expect(ppl).toBeGreaterThan(1);
  await other.close();
});

test('a link made by the version 2 encoder still opens in the browser', async ({ page }) => {
  // red + blue at 0.3 / 0.7, query `blue `, evaluation text `red sky over the sea`, seed 7: written by the
  // version 2 encoder (deflate-raw of the JSON) before version 3 existed.
  const v2 =
    '2.RZDNasMwEIRfRcx5MQ6FBvQKhdJDbiGHbbyJRfQXSXacGr97UUyS2w673zCzM3LhIhl6P8OzE2gk6UAoMpVVKI7RSlbsO1XlsZeUjO' +
    'RGYaEX9WsHeWNVqXy5qzBKUqxWLVyZA8GZSTrofUubA-Em5tyXmqFtPqhttvUidNV1XT0C-ZAcW_Mn0Ce2WQiRU6Vm5OygSxqEcAx-XOeFEFM4' +
    'GVt9Bm9OITkQMrtojT9XroiLkrgMSaBbQgnx6zn8QG8IWWrOLcHx9C23XbiIz9Cbz4VwHSTdn11BkJHt7v21V_vSP6pj-Qc';
  await serveTinyModel(page);
  await page.goto(`/?view=lab#r=${v2}`);
  await expect(page.getByRole('status').filter({ hasText: 'Model ready' })).toBeVisible();
  await expect(page.getByRole('checkbox', { name: 'Mix red' })).toBeChecked();
  await expect(page.getByRole('checkbox', { name: 'Mix blue' })).toBeChecked();
  await expect(page.getByRole('slider', { name: 'Weight of blue' })).toHaveAttribute('aria-valuenow', '0.7');
  await expect(page.getByRole('textbox', { name: 'Evaluation text' })).toHaveValue('red sky over the sea');
  await expect(page.getByRole('textbox', { name: 'Query', exact: true })).toHaveValue('blue ');
  await expect(page.getByLabel('Seed')).toHaveValue('7');
});
