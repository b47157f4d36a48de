import { expect, test } from '@playwright/test';

test('Chromium under test exposes a real WebGPU adapter', async ({ page }) => {
  await page.goto('/harness.html');
  await expect(page.locator('body')).toHaveAttribute('data-ready', 'true');
  const info = await page.evaluate(async () => {
    const soup = (window as unknown as { soup: { adapterInfo: () => Promise<{ vendor: string }> } }).soup;
    return soup.adapterInfo();
  });
  expect(typeof info.vendor).toBe('string');
});
