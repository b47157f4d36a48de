/**
 * A lost GPU device, for real: the engine worker's script is served with a prologue that records every
 * GPUDevice it opens, and the test then calls `destroy()` on the live one from inside the worker, behind the
 * app's back. Nothing in the app is stubbed: its own `device.lost` handler has to notice, the page has to say
 * so, and Recover has to bring the playground back with the saved states.
 */
import { expect, test, type Page, type Worker } from '@playwright/test';
import { readPerplexityText, saveState, serveTinyModel } from './app-helpers.ts';

const PROLOGUE = `
self.__testDevices = [];
{
  const request = GPUAdapter.prototype.requestDevice;
  GPUAdapter.prototype.requestDevice = async function (...args) {
    const device = await request.apply(this, args);
    self.__testDevices.push(device);
    return device;
  };
}
`;

async function recordWorkerDevices(page: Page) {
  await page.route('**/assets/engine.worker-*.js', async (route) => {
    const original = await route.fetch();
    await route.fulfill({ response: original, body: PROLOGUE + (await original.text()) });
  });
}

function engineWorker(page: Page): Worker {
  const w = page.workers().find((x) => x.url().includes('engine.worker'));
  if (!w) throw new Error('the engine worker is not running');
  return w;
}

test('device lost: the page says so, and Recover brings the playground back with the saved states', async ({
  page,
}) => {
  await serveTinyModel(page);
  await recordWorkerDevices(page);
  await page.goto('/?view=lab');
  await expect(page.getByRole('status').filter({ hasText: 'Model ready' })).toBeVisible();
  await saveState(page, 'red', 'red apples and red cherries. ');
  await saveState(page, 'blue', 'blue sky over a blue sea. ');
  await page.getByRole('checkbox', { name: 'Mix red' }).check();
  await page.getByRole('checkbox', { name: 'Mix blue' }).check();
  await page.getByRole('textbox', { name: 'Evaluation text' }).fill('red sky over the sea');
  const ppl = page.getByLabel('Perplexity', { exact: true });
  await readPerplexityText(page);
  await expect(ppl).toHaveAttribute('aria-busy', 'false');
  const before = await readPerplexityText(page);

  // The worker opened exactly one device (the prologue really ran there); destroy it behind the app's back.
  expect(
    await engineWorker(page).evaluate(
      () => (self as unknown as { __testDevices: unknown[] }).__testDevices.length,
    ),
  ).toBe(1);
  await engineWorker(page).evaluate(() => {
    const devices = (self as unknown as { __testDevices: GPUDevice[] }).__testDevices;
    devices[devices.length - 1]!.destroy();
  });

  const alert = page.getByRole('alert').filter({ hasText: 'The GPU device was lost.' });
  await expect(alert).toBeVisible();
  await expect(alert).toContainText('Your stored states are kept');
  await expect(page.getByRole('status').filter({ hasText: 'GPU device lost' })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Generate' })).toBeDisabled();
  const list = page.getByRole('list', { name: 'Stored states' });
  await expect(list.getByRole('listitem')).toHaveCount(2);

  await alert.getByRole('button', { name: 'Recover: reload the model' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Model ready' })).toBeVisible();
  await expect(alert).toHaveCount(0);
  // A fresh device was opened for the reload.
  expect(
    await engineWorker(page).evaluate(
      () => (self as unknown as { __testDevices: unknown[] }).__testDevices.length,
    ),
  ).toBe(2);

  // The saved states are all there, ready, still mixed, and the mix scores as it did before the loss.
  await expect(list.getByRole('listitem')).toHaveCount(2);
  await expect(list.locator('.library-meta', { hasText: /\d+ tokens/ })).toHaveCount(2);
  await expect(page.getByRole('checkbox', { name: 'Mix red' })).toBeChecked();
  await expect(page.getByRole('checkbox', { name: 'Mix blue' })).toBeChecked();
  await expect(ppl).toHaveAttribute('aria-busy', 'false');
  await expect(ppl).toHaveText(before);
  // And the GPU works again: a continuation runs from the mix.
  await page.getByRole('textbox', { name: 'Query', exact: true }).fill('blue ');
  await page.getByRole('button', { name: 'Generate' }).click();
  const gen = page.getByRole('region', { name: 'Generation' });
  await expect(gen.getByRole('article', { name: 'Mix' })).toBeVisible();
  await expect(gen.getByText('generating…')).toHaveCount(0);
  await expect(gen.locator('.error-text')).toHaveCount(0);

  // The states survive a page reload too (they were saved, not only kept in memory).
  await page.reload();
  await expect(page.getByRole('status').filter({ hasText: 'Model ready' })).toBeVisible();
  await expect(list.locator('.library-meta', { hasText: /\d+ tokens/ })).toHaveCount(2);
});
