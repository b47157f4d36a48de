/**
 * Shared setup of the app's end-to-end tests. `serveTinyModel` answers the app's requests for the bundled
 * model with the tiny-b golden fixture (random weights, no tokenizer: ids are UTF-8 bytes), so the UI flows
 * run fast and deterministically on SwiftShader; tests of the real bundled model say so in their names.
 */
import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, type Locator, type Page } from '@playwright/test';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '../tests/fixtures');

export async function serveTinyModel(page: Page, name: 'tiny-a' | 'tiny-b' = 'tiny-b') {
  await page.route('**/models/manifest.json', (route) =>
    route.fulfill({
      contentType: 'application/json',
      body: JSON.stringify({
        default: name,
        models: [
          {
            id: `fixture/${name}`,
            folder: name,
            description: 'golden test fixture (random weights)',
            parameters: '0.1M',
          },
        ],
      }),
    }),
  );
  await page.route(`**/models/${name}/*`, (route) => {
    const file = new URL(route.request().url()).pathname.split('/').pop()!;
    if (file !== 'config.json' && file !== 'model.safetensors')
      return route.fulfill({ status: 404, body: 'not found' });
    const body = readFileSync(join(FIXTURES, name, file));
    return route.fulfill({
      body,
      contentType: file.endsWith('.json') ? 'application/json' : 'application/octet-stream',
    });
  });
}

export async function saveState(page: Page, name: string, text: string) {
  await page.getByRole('textbox', { name: 'State text' }).fill(text);
  await page.getByRole('textbox', { name: 'State name' }).fill(name);
  await page.getByRole('button', { name: 'Save state' }).click();
  await expect(
    page.getByRole('list', { name: 'Stored states' }).getByText(name, { exact: true }),
  ).toBeVisible();
}

/** The number shown in the element labelled Perplexity, once it is one. */
export async function readPerplexity(page: Page): Promise<number> {
  return Number(await readPerplexityText(page));
}

/** The text of the Perplexity element as shown (compare texts, not numbers: "3.350" is not String(3.35)). */
export async function readPerplexityText(page: Page): Promise<string> {
  const out = page.getByLabel('Perplexity', { exact: true });
  await expect(out).toHaveText(/\d/);
  return (await out.textContent())!.trim();
}

/**
 * The first line of a generation column's continuation, as the app's answer check reads it: the generated
 * tokens' own text (each token's first text node; the rest is its hover tip).
 */
export async function firstLine(column: Locator): Promise<string> {
  const continuation = (
    await column.locator('.gen-token').evaluateAll((els) => els.map((e) => e.firstChild?.textContent ?? ''))
  )
    .join('')
    .replace(/↵\n/g, '\n');
  return continuation.split('\n')[0]!.trim();
}

/** Opens one of the lab's drawers (Retrieval, Share, Storage) if it is closed. */
export async function openDrawer(page: Page, name: 'Retrieval' | 'Share' | 'Storage') {
  const drawer = page.locator('details.drawer', { has: page.locator('summary', { hasText: name }) });
  if ((await drawer.getAttribute('open')) === null) await drawer.locator('summary').click();
  await expect(drawer).toHaveAttribute('open', '');
}
