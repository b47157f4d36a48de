import { expect, test } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { openDrawer, readPerplexityText, saveState, serveTinyModel } from './app-helpers.ts';

test('export and import: a state file and a session file bring the states into a fresh browser', async ({
  page,
  browser,
}) => {
  await serveTinyModel(page);
  await page.goto('/?view=lab');
  await expect(page.getByRole('status').filter({ hasText: 'Model ready' })).toBeVisible();
  await saveState(page, 'greeting', 'hello there, how are you today? ');
  await page.getByRole('checkbox', { name: 'Mix greeting' }).check();
  await page.getByRole('textbox', { name: 'Evaluation text' }).fill('hello, how are you?');
  await expect(page.getByLabel('Perplexity', { exact: true })).toHaveAttribute('aria-busy', 'false');
  const ppl = await readPerplexityText(page);

  const stateDownload = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Export greeting' }).click();
  const statePath = await (await stateDownload).path();
  const stateName = (await stateDownload).suggestedFilename();
  expect(stateName).toMatch(/\.safetensors$/);

  const sessionDownload = page.waitForEvent('download');
  await openDrawer(page, 'Share');
  await page.getByRole('button', { name: 'Export session' }).click();
  const sessionPath = await (await sessionDownload).path();
  const session = JSON.parse(readFileSync(sessionPath, 'utf8')) as {
    type: string;
    states: { name: string }[];
  };
  expect(session.type).toBe('state-soup-session');
  expect(session.states.map((s) => s.name)).toEqual(['greeting']);

  const other = await browser.newContext();
  const fresh = await other.newPage();
  await serveTinyModel(fresh);
  await fresh.goto('/?view=lab');
  await expect(fresh.getByRole('status').filter({ hasText: 'Model ready' })).toBeVisible();

  // The state file: its tensors are used as they are (no recomputation), under the exported name.
  await fresh.getByLabel('Import state files').setInputFiles({
    name: stateName,
    mimeType: 'application/octet-stream',
    buffer: readFileSync(statePath),
  });
  await expect(fresh.getByRole('status').filter({ hasText: 'Imported 1 state' })).toBeVisible();
  await fresh.getByRole('checkbox', { name: 'Mix greeting' }).check();
  await fresh.getByRole('textbox', { name: 'Evaluation text' }).fill('hello, how are you?');
  await expect(fresh.getByLabel('Perplexity', { exact: true })).toHaveText(ppl);

  // The session file: brings the recipe's settings; the state it names (same name and text) is already in the
  // library from the state file, so it is reused, not duplicated.
  await fresh.getByRole('textbox', { name: 'Evaluation text' }).fill('something else');
  await openDrawer(fresh, 'Share');
  await fresh.getByLabel('Import session').setInputFiles(sessionPath);
  await expect(fresh.getByRole('textbox', { name: 'Evaluation text' })).toHaveValue('hello, how are you?');
  await expect(fresh.getByRole('list', { name: 'Stored states' }).getByRole('listitem')).toHaveCount(1);
  await expect(fresh.getByLabel('Perplexity', { exact: true })).toHaveText(ppl);

  // A file that is not a state file is refused with a message, and nothing is added.
  await fresh.getByLabel('Import state files').setInputFiles({
    name: 'notes.safetensors',
    mimeType: 'application/octet-stream',
    buffer: Buffer.from('not a state file at all'),
  });
  await expect(fresh.getByRole('alert').filter({ hasText: 'notes.safetensors' })).toBeVisible();
  await expect(fresh.getByRole('list', { name: 'Stored states' }).getByRole('listitem')).toHaveCount(1);
  await other.close();
});
