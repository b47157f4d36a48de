import { expect, test } from '@playwright/test';
import { readPerplexity, readPerplexityText, saveState } from './app-helpers.ts';

test('first session: load, save two states, mix, move a weight by keyboard, generate, reload keeps states', async ({
  page,
}) => {
  // The bundled default model, as a new user gets it.
  await page.goto('/?view=lab');
  await expect(page.getByRole('status').filter({ hasText: 'Model ready' })).toBeVisible();

  await expect(page.locator('.model-info')).toContainText('soup-mamba-4.6m');
  await saveState(page, 'alpha', 'hot->cold\nbig->small\nfast->slow\n');
  await saveState(page, 'beta', 'France->Paris\nJapan->Tokyo\nItaly->Rome\n');
  await page.getByRole('checkbox', { name: 'Mix alpha' }).check();
  await page.getByRole('checkbox', { name: 'Mix beta' }).check();

  await page.getByRole('textbox', { name: 'Evaluation text' }).fill('up->down\nwet->dry\nSpain->Madrid\n');
  await expect(page.getByLabel('Perplexity', { exact: true })).toHaveAttribute('aria-busy', 'false');
  const before = await readPerplexity(page);
  expect(before).toBeGreaterThan(1);

  const slider = page.getByRole('slider', { name: 'Weight of alpha' });
  await expect(slider).toHaveAttribute('aria-valuenow', '0.5');
  await slider.focus();
  await page.keyboard.press('Shift+ArrowRight');
  await expect(slider).toHaveAttribute('aria-valuenow', '0.6');
  await page.keyboard.press('ArrowLeft');
  await expect(slider).toHaveAttribute('aria-valuenow', '0.59');
  await page.keyboard.press('Alt+ArrowRight');
  await expect(slider).toHaveAttribute('aria-valuenow', '0.591');
  // The result for the final weight (0.591): busy clears only when the newest request has answered.
  await expect(page.getByLabel('Perplexity', { exact: true })).toHaveAttribute('aria-busy', 'false');
  const after = await readPerplexityText(page);
  expect(Number(after)).not.toBe(before);

  await page.getByRole('textbox', { name: 'Query', exact: true }).fill('light->');
  await page.getByRole('button', { name: 'Generate' }).click();
  const gen = page.getByRole('region', { name: 'Generation' });
  await expect(gen.getByRole('article', { name: 'Mix' })).toContainText('light->');
  await expect(gen.getByRole('article', { name: 'Mix' }).locator('.gen-token').first()).toBeVisible();

  await page.reload();
  await expect(page.getByRole('status').filter({ hasText: 'Model ready' })).toBeVisible();
  const list = page.getByRole('list', { name: 'Stored states' });
  await expect(list.getByText('alpha', { exact: true })).toBeVisible();
  await expect(list.getByText('beta', { exact: true })).toBeVisible();
  await expect(page.getByRole('checkbox', { name: 'Mix alpha' })).toBeChecked();
  await expect(page.getByRole('slider', { name: 'Weight of alpha' })).toHaveAttribute(
    'aria-valuenow',
    '0.591',
  );
  // The states are recomputed from their texts, so the same mix gives the same perplexity.
  await expect(page.getByLabel('Perplexity', { exact: true })).toHaveText(after);
});
