import { expect, test } from '@playwright/test';
import { serveTinyModel } from './app-helpers.ts';

// The tiny fixture reads UTF-8 bytes as tokens: this text is 80,000 tokens, long enough to watch.
const LONG = 'the quick brown fox jumps over the lazy dog. '.repeat(1778).slice(0, 80_000);

test('a long evaluation text shows tokens/s and the time left while it is scored, and can be cancelled', async ({
  page,
}) => {
  await serveTinyModel(page);
  await page.goto('/?view=lab');
  await expect(page.getByRole('status').filter({ hasText: 'Model ready' })).toBeVisible();
  await page.getByRole('textbox', { name: 'Evaluation text' }).fill(LONG);
  const run = page.getByRole('group', { name: 'Scoring the evaluation text' });
  await expect(run).toContainText(
    / \/ 79,999 tokens · [\d,]+ tokens\/s · (about \d+ (s|min)|under a second) left/,
  );
  await run.getByRole('button', { name: 'Cancel scoring the evaluation text' }).click();
  await expect(run).toHaveCount(0);
  await expect(page.getByText('Scoring cancelled.')).toBeVisible();
  await expect(page.getByLabel('Perplexity', { exact: true })).toHaveAttribute('aria-busy', 'false');
});

test('a long state text shows its reading speed and can be cancelled', async ({ page }) => {
  await serveTinyModel(page);
  await page.goto('/?view=lab');
  await expect(page.getByRole('status').filter({ hasText: 'Model ready' })).toBeVisible();
  await page.getByRole('textbox', { name: 'State text' }).fill(LONG);
  await page.getByRole('textbox', { name: 'State name' }).fill('long');
  await page.getByRole('button', { name: 'Save state' }).click();
  const run = page.getByRole('group', { name: 'Reading long' });
  await expect(run).toContainText(/ \/ 80,000 tokens · [\d,]+ tokens\/s · .+ left/);
  await run.getByRole('button', { name: 'Cancel reading long' }).click();
  await expect(page.getByRole('list', { name: 'Stored states' }).getByRole('alert')).toContainText(
    'Cancelled',
  );
});
