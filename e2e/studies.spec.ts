/**
 * The Studies view on the real bundled model (f32 on SwiftShader, as the app loads it there): a small ICL
 * study runs with progress, shows its chart and table, is saved and reopened after a reload, and its exported
 * JSON has the same rows as `soup study icl --json` on the same model, seed and dtype (the promise
 * that the app and the command line give the same numbers). A bad pasted line is named.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { expect, test } from '@playwright/test';

const run = promisify(execFile);

test('a small ICL study in the view equals the CLI run, is saved and reopened; a bad line is named', async ({
  page,
}) => {
  test.setTimeout(120_000);
  const cli = run(
    'node_modules/.bin/tsx',
    [
      'src/cli/main.ts',
      'study',
      'icl',
      '--model',
      'public/models/soup-mamba-4.6m',
      '--dtype',
      'f32',
      '--tasks',
      'uppercase',
      '--shots',
      '2',
      '--states',
      '2',
      '--queries',
      '2',
      '--seed',
      '5',
      '--json',
    ],
    { maxBuffer: 16 << 20 },
  );
  await page.goto('/?view=studies');
  await expect(page.getByRole('status').filter({ hasText: 'Model ready' })).toBeVisible();
  const view = page.getByRole('region', { name: 'Studies' });
  await expect(view.getByText('Mamba-2.8b')).toBeVisible();
  await expect(view.getByText(/Model in use: soup-mamba-4\.6m/)).toBeVisible();
  await view.getByRole('checkbox', { name: 'antonym' }).uncheck();
  await expect(view.getByRole('checkbox', { name: 'uppercase' })).toBeChecked();
  await view.getByRole('textbox', { name: 'Shots k' }).fill('2');
  await view.getByRole('textbox', { name: 'States M' }).fill('2');
  await view.getByRole('textbox', { name: 'Queries' }).fill('2');
  await view.getByRole('textbox', { name: 'Seed' }).fill('5');
  await view.getByRole('button', { name: 'Run study' }).click();
  await expect(view.getByRole('status').filter({ hasText: /\d+\/\d+/ })).toBeVisible();
  const result = view.getByTestId('study-result');
  await expect(result).toBeVisible({ timeout: 90_000 });
  await expect(result.locator('.recharts-surface').first()).toBeVisible();
  await expect(result.getByRole('table')).toContainText('soup-adecay');

  const download = page.waitForEvent('download');
  await result.getByRole('button', { name: 'Export JSON' }).click();
  const app = JSON.parse(readFileSync(await (await download).path(), 'utf8')) as {
    rows: unknown[];
    run: { model: { weightsHash: string; dtype: string }; complete: boolean };
  };
  const fromCli = JSON.parse((await cli).stdout) as typeof app;
  expect(app.run.complete).toBe(true);
  expect(app.run.model.dtype).toBe('f32');
  expect(app.run.model.weightsHash).toBe(fromCli.run.model.weightsHash);
  expect(app.rows).toEqual(fromCli.rows);

  await page.reload();
  const saved = page.getByRole('region', { name: 'Studies' }).locator('.study-saved li').first();
  await expect(saved).toContainText('icl · uppercase · seed 5');
  await saved.getByRole('button', { name: 'Open' }).click();
  await expect(page.getByTestId('study-result').getByRole('table')).toContainText('soup-mean');

  // A pasted line without -> is named before anything runs.
  const again = page.getByRole('region', { name: 'Studies' });
  await again.getByRole('radio', { name: 'my own input->output lines' }).check();
  await again.getByRole('textbox', { name: /^Lines/ }).fill('hot->cold\nbig small\n');
  await again.getByRole('button', { name: 'Run study' }).click();
  await expect(again.getByRole('alert')).toHaveText(/the pasted lines, line 2: "big small" has no "->"/);
});
