import { expect, test } from '@playwright/test';

// The benchmark page on Chromium's software WebGPU: the smallest size, quick, runs to the results table with
// the same rows as `soup bench` (no timed assertions: SwiftShader's speed says nothing).
test('benchmark page runs the tiny random model and shows its figures', async ({ page }) => {
  test.setTimeout(180_000);
  await page.goto('/?bench');
  await expect(page.getByRole('heading', { name: 'Benchmark' })).toBeVisible();
  await page.getByLabel('Size (random weights)').selectOption('tiny');
  await page.getByLabel('quick (short lengths)').check();
  await page.getByRole('button', { name: 'Run benchmark' }).click();
  const results = page.getByRole('region', { name: 'Results' });
  await expect(results).toBeVisible({ timeout: 150_000 });
  for (const label of [
    'prefill 16',
    'prefill 64',
    'decode 16',
    'mix + rescore 32',
    'page path: recipe → score 32',
    'dispatches',
    'dispatch floor',
  ]) {
    await expect(results.getByRole('rowheader', { name: label, exact: true })).toBeVisible();
  }
  await expect(results.getByRole('row', { name: /decode 16/ })).toContainText('tok/s');
  await expect(results.getByRole('row', { name: /page path/ })).toContainText('through the engine service');
  // f16 weights (the page's default): the row says which path ran; Chromium's SwiftShader has no shader-f16.
  await expect(results.getByRole('row', { name: /^weights/ })).toContainText(
    'f16 (packed two per u32, no shader-f16)',
  );
  await expect(results.getByRole('rowheader', { name: 'adapter features', exact: true })).toBeVisible();
  await expect(page.getByRole('alert')).toHaveCount(0);
});

test('the lab links to the benchmark page', async ({ page }) => {
  // The lesson (the first view) keeps to its one control; the lab's tagline carries the link.
  await page.goto('/?view=lab');
  await expect(page.getByRole('link', { name: 'Benchmark your GPU' })).toHaveAttribute('href', '?bench');
});
