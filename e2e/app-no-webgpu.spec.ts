import { expect, test } from '@playwright/test';

test('without WebGPU the page says which browsers and settings are needed', async ({ page }) => {
  await page.addInitScript(() => {
    // As in a browser without WebGPU: navigator.gpu is absent.
    delete (Navigator.prototype as unknown as { gpu?: unknown }).gpu;
  });
  await page.goto('/');
  await expect(page.getByRole('heading', { name: 'State Soup Playground needs WebGPU' })).toBeVisible();
  await expect(page.getByRole('alert')).toContainText('navigator.gpu is missing');
  await expect(page.getByText('Chrome or Edge 113 or newer')).toBeVisible();
  await expect(page.getByText('enable-unsafe-webgpu')).toBeVisible();
  await expect(page.getByRole('button', { name: 'Save state' })).toHaveCount(0);
});
