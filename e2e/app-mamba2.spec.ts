/**
 * The bundled Mamba-2 (soup-mamba2-4.5m, `?model=soup-mamba2-4.5m` or the lab's model chooser) on software
 * WebGPU, through every view a user reaches: the lesson's α moves the answer and the chart, and a story step shows
 * its own measured answer beside the Mamba-1's; in the lab two saved
 * states mix, re-score and continue a query, and retrieval ranks the states of the query's task first; its
 * share link opens on the Mamba-2; a Mamba-2 state file exported there imports back with the same perplexity,
 * while the Mamba-1 refuses it in one line and keeps what was saved; a small study runs and equals `soup study`
 * on the same folder. Texts are a few lines and generations a few tokens, so that SwiftShader keeps it as quick
 * as the Mamba-1 specs.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { expect, test, type Page } from '@playwright/test';
import { openDrawer, readPerplexityText, saveState } from './app-helpers.ts';

const M2 = 'soup-mamba2-4.5m';
const run = promisify(execFile);

// From the bundled task suite's train lists (both families ship the same tasks.json); the retrieval queries
// use pairs that are in none of the saved states.
const ANT_1 = 'begin->end\nbelow->above\nbig->little\n';
const ANT_2 = 'able->unable\nabove->below\nalive->dead\n';
const CAP_1 = 'Chile->Santiago\nChina->Beijing\nCuba->Havana\n';

async function ready(page: Page, id: string, family: string) {
  const status = page.getByRole('status').filter({ hasText: 'Model ready' });
  await expect(status).toBeVisible({ timeout: 120_000 });
  await expect(status).toContainText(`${id} (${family}`);
}

test('Mamba-2 lesson: ?model= opens it; α moves the answer and the chart', async ({ page }) => {
  test.setTimeout(240_000);
  await page.goto(`/?model=${M2}`);
  await ready(page, M2, 'Mamba-2 · 4.5M');
  const answer = page.getByLabel('Answer', { exact: true });
  await expect(answer).not.toHaveText(/Computing|Making the states/, { timeout: 90_000 });
  const at0 = (await answer.textContent())!.trim();
  const pTrace = page.getByLabel('Probability of TRACE', { exact: true });
  const pTraces = page.getByLabel('Probability of traces', { exact: true });
  await expect(pTrace).toHaveText(/\d/, { timeout: 60_000 });
  const chart0 = [Number(await pTrace.textContent()), Number(await pTraces.textContent())];

  const slider = page.getByRole('slider', { name: /α/ });
  await slider.focus();
  await slider.press('End');
  await expect(slider).toHaveAttribute('aria-valuenow', '1');
  await expect(page.getByLabel('Latency')).toContainText('chart in', { timeout: 60_000 });
  const at1 = (await answer.textContent())!.trim();
  const chart1 = [Number(await pTrace.textContent()), Number(await pTraces.textContent())];
  console.log(
    `Mamba-2 lesson: α=0 answers ${at0} (P ${chart0.join(', ')}), α=1 ${at1} (P ${chart1.join(', ')})`,
  );
  // The uppercase state answers in upper case, the plural state with the plural; the probabilities follow.
  expect(at0).toBe('TRACE');
  expect(at1).toBe('traces');
  expect(chart0[0]!).toBeGreaterThan(chart0[1]!);
  expect(chart1[1]!).toBeGreaterThan(chart1[0]!);

  // A story step from the zero state: the Mamba-2 answers bad where the Mamba-1 answers GOOD, and the step
  // says both, its own measured figure first (src/features/stories/measured.ts).
  const stories = page.getByRole('region', { name: 'Stories' });
  await stories.getByRole('button', { name: 'Run this step' }).click();
  const result = stories.getByRole('status', { name: 'Step result' });
  await expect(result).toBeVisible({ timeout: 120_000 });
  await expect(result.locator('.story-answer')).toHaveText('bad');
  await expect(result.locator('.story-own')).toHaveText(
    `What ${M2} does here (measured on it): It answers bad.`,
  );
  await expect(result).toContainText('What the default model, soup-mamba-4.6m');
  await expect(result).toContainText('It answers GOOD');
});

test('Mamba-2 lab: two states mix, re-score and continue a query; retrieval ranks by task; its share link opens on it; its state file goes back only into a Mamba-2', async ({
  page,
  browser,
}) => {
  test.setTimeout(300_000);
  await page.goto(`/?model=${M2}&view=lab`);
  await ready(page, M2, 'Mamba-2 · 4.5M');
  await expect(page.locator('.model-info')).toContainText(`${M2} (Mamba-2 · 4.5M)`);
  await saveState(page, 'ant 1', ANT_1);
  await saveState(page, 'cap 1', CAP_1);
  await page.getByRole('checkbox', { name: 'Mix ant 1' }).check();
  await page.getByRole('checkbox', { name: 'Mix cap 1' }).check();
  const evalText = 'up->down\nwet->dry\nSpain->Madrid\n';
  await page.getByRole('textbox', { name: 'Evaluation text' }).fill(evalText);
  const ppl = page.getByLabel('Perplexity', { exact: true });
  await expect(ppl).toHaveAttribute('aria-busy', 'false');
  const half = await readPerplexityText(page);
  expect(Number(half)).toBeGreaterThan(1);
  const slider = page.getByRole('slider', { name: 'Weight of ant 1' });
  await expect(slider).toHaveAttribute('aria-valuenow', '0.5');
  await slider.focus();
  await page.keyboard.press('Shift+ArrowRight');
  await expect(slider).toHaveAttribute('aria-valuenow', '0.6');
  await expect(ppl).toHaveAttribute('aria-busy', 'false');
  await expect(ppl).not.toHaveText(half);

  await page.getByRole('textbox', { name: 'Query', exact: true }).fill('hot->');
  await page.getByRole('button', { name: 'Generate' }).click();
  const gen = page.getByRole('region', { name: 'Generation' });
  await expect(gen.getByRole('article', { name: 'Mix' })).toContainText('hot->');
  await expect(gen.getByRole('article', { name: 'Mix' }).locator('.gen-token').first()).toBeVisible({
    timeout: 60_000,
  });

  // Retrieval over per-head states: an antonym query ranks both antonym states above the capital one.
  await saveState(page, 'ant 2', ANT_2);
  await openDrawer(page, 'Retrieval');
  const panel = page.getByRole('region', { name: 'Retrieval' });
  const hits = panel.getByRole('list', { name: 'Retrieved states' });
  await expect(panel.getByLabel('States to rank')).toHaveText('3 of 3 stored states ready to rank.');
  await panel.getByRole('textbox', { name: 'Retrieval query' }).fill('best->worst\nbirth->death\n');
  await panel.getByRole('button', { name: 'Rank states' }).click();
  await expect(hits.getByRole('listitem')).toHaveCount(3);
  await expect(hits).toHaveAttribute('aria-busy', 'false');
  const ranked = (await hits.getByRole('listitem').allTextContents()).map((t) => t.split(': ')[0]);
  console.log(
    'Mamba-2 retrieval, antonym query:',
    JSON.stringify(await hits.getByRole('listitem').allTextContents()),
  );
  expect(ranked.slice(0, 2).sort()).toEqual(['ant 1', 'ant 2']);

  // Export "ant 1" as a state file (format version 2, architecture mamba2).
  const download = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Export ant 1' }).click();
  const file = {
    name: (await download).suggestedFilename(),
    mimeType: 'application/octet-stream',
    buffer: readFileSync((await (await download).path())!),
  };
  // The reference score: "ant 1" alone at weight 1, as a newly mixed single state starts.
  await page.getByRole('checkbox', { name: 'Mix cap 1' }).uncheck();
  await slider.focus();
  for (let i = 0; i < 4; i++) await page.keyboard.press('Shift+ArrowRight');
  await expect(slider).toHaveAttribute('aria-valuenow', '1');
  await expect(ppl).toHaveAttribute('aria-busy', 'false');
  const alone = await readPerplexityText(page);

  // A share link made on the Mamba-2 opens on the Mamba-2 even without ?model=: the recipe names its model, and
  // the state rebuilt from its text scores as here.
  await openDrawer(page, 'Share');
  await page.getByRole('button', { name: 'Copy share link' }).click();
  const link = new URL(await page.getByRole('textbox', { name: 'Share link' }).inputValue());
  link.searchParams.delete('model');
  const linked = await browser.newContext();
  const opened = await linked.newPage();
  await opened.goto(link.href);
  await ready(opened, M2, 'Mamba-2 · 4.5M');
  await expect(opened.getByRole('checkbox', { name: 'Mix ant 1' })).toBeChecked();
  await expect(opened.getByLabel('Perplexity', { exact: true })).toHaveText(alone);
  await linked.close();

  // A fresh browser on the default Mamba-1 with one saved state: the Mamba-2 file is refused in one line
  // naming both families, and the library keeps its state.
  const other = await browser.newContext();
  const fresh = await other.newPage();
  await fresh.goto('/?view=lab');
  await ready(fresh, 'soup-mamba-4.6m', 'Mamba-1 · 4.6M');
  await saveState(fresh, 'kept', 'hot->cold\n');
  await fresh.getByLabel('Import state files').setInputFiles(file);
  const refusal = fresh.getByRole('alert').filter({ hasText: file.name });
  await expect(refusal).toContainText('holds Mamba-2 states');
  await expect(refusal).toContainText('the loaded model is Mamba-1');
  const list = fresh.getByRole('list', { name: 'Stored states' });
  await expect(list.getByRole('listitem')).toHaveCount(1);
  await expect(list.getByText('kept', { exact: true })).toBeVisible();

  // The chooser offers the Mamba-2 beside it; once loaded, the same file imports, and scores as it did.
  await fresh.getByText('Choose another model').click();
  await fresh.getByRole('button', { name: 'Load State Soup Mamba-2 4.5M (Mamba-2 · 4.5M)' }).click();
  await ready(fresh, M2, 'Mamba-2 · 4.5M');
  await expect(fresh).toHaveURL(new RegExp(`model=${M2}`));
  await fresh.getByLabel('Import state files').setInputFiles(file);
  await expect(fresh.getByRole('status').filter({ hasText: 'Imported 1 state' })).toBeVisible();
  await expect(list.getByRole('listitem')).toHaveCount(2);
  await fresh.getByRole('checkbox', { name: 'Mix ant 1' }).check();
  await expect(fresh.getByRole('slider', { name: 'Weight of ant 1' })).toHaveAttribute('aria-valuenow', '1');
  await fresh.getByRole('textbox', { name: 'Evaluation text' }).fill(evalText);
  await expect(fresh.getByLabel('Perplexity', { exact: true })).toHaveText(alone);
  await other.close();
});

test('Mamba-2 studies: a small ICL study runs in the view and equals soup study on the same folder', async ({
  page,
}) => {
  test.setTimeout(240_000);
  const args = ['--tasks', 'uppercase', '--shots', '2', '--states', '2', '--queries', '2', '--seed', '5'];
  const cli = run(
    'node_modules/.bin/tsx',
    [
      'src/cli/main.ts',
      'study',
      'icl',
      '--model',
      `public/models/${M2}`,
      '--dtype',
      'f32',
      ...args,
      '--json',
    ],
    { maxBuffer: 16 << 20 },
  );
  await page.goto(`/?model=${M2}&view=studies`);
  await ready(page, M2, 'Mamba-2 · 4.5M');
  const view = page.getByRole('region', { name: 'Studies' });
  await expect(view.getByText(new RegExp(`Model in use: ${M2.replace(/\./g, '\\.')}`))).toBeVisible();
  await view.getByRole('checkbox', { name: 'antonym' }).uncheck();
  await expect(view.getByRole('checkbox', { name: 'uppercase' })).toBeChecked();
  await view.getByRole('textbox', { name: 'Shots k' }).fill('2');
  await view.getByRole('textbox', { name: 'States M' }).fill('2');
  await view.getByRole('textbox', { name: 'Queries' }).fill('2');
  await view.getByRole('textbox', { name: 'Seed' }).fill('5');
  await view.getByRole('button', { name: 'Run study' }).click();
  const result = view.getByTestId('study-result');
  await expect(result).toBeVisible({ timeout: 120_000 });
  await expect(result.getByRole('table')).toContainText('soup-adecay');

  const download = page.waitForEvent('download');
  await result.getByRole('button', { name: 'Export JSON' }).click();
  const app = JSON.parse(readFileSync(await (await download).path(), 'utf8')) as {
    rows: unknown[];
    run: { model: { weightsHash: string; dtype: string }; complete: boolean };
  };
  const fromCli = JSON.parse((await cli).stdout) as typeof app;
  expect(app.run.complete).toBe(true);
  expect(app.run.model.weightsHash).toBe(fromCli.run.model.weightsHash);
  expect(app.rows).toEqual(fromCli.rows);
});
