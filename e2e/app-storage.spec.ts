import { expect, test } from '@playwright/test';
import { openDrawer, saveState } from './app-helpers.ts';

test('storage panel: the bundled model is listed as cached once loaded, with its size; Delete removes it', async ({
  page,
}) => {
  await page.goto('/?view=lab');
  await expect(page.getByRole('status').filter({ hasText: 'Model ready' })).toBeVisible();
  await openDrawer(page, 'Storage');
  const panel = page.getByRole('region', { name: 'Storage' });
  const cached = panel.getByRole('list', { name: 'Cached models' });
  // The bundled folder's files (config, weights, tokenizer): the weights alone are 9.1 MB.
  const entry = cached.getByRole('listitem').filter({ hasText: 'soup-mamba-4.6m (bundled)' });
  await expect(entry).toBeVisible();
  await expect(entry).toContainText(/: (9|10) MB in [2-4] files/);
  await expect(panel.getByLabel('Storage used')).toContainText(/used of .* available/);

  // A saved state is counted in the library's size.
  await expect(panel.getByLabel('Size of saved states')).toHaveText(/^0 states/);
  await saveState(page, 'alpha', 'hot->cold\nbig->small\n');
  await expect(panel.getByLabel('Size of saved states')).toHaveText(/^1 state, \d+ (KB|MB)$/);

  await panel.getByRole('button', { name: 'Delete cached soup-mamba-4.6m (bundled)' }).click();
  await expect(panel.getByRole('status')).toContainText(/Deleted [2-4] cached files of soup-mamba-4.6m/);
  await expect(entry).toHaveCount(0);
  await expect(panel.getByText('No model files are cached.')).toBeVisible();
  // Deleting the cached files leaves the saved state alone.
  await expect(panel.getByLabel('Size of saved states')).toHaveText(/^1 state/);

  // Reloading the page refills the cache from the network.
  await page.reload();
  await expect(page.getByRole('status').filter({ hasText: 'Model ready' })).toBeVisible();
  await expect(entry).toBeVisible();

  await page.getByRole('button', { name: 'Keep data persistent' }).focus();
  await expect(page.getByRole('button', { name: 'Keep data persistent' })).toBeFocused();
});
