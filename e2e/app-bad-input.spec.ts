import { expect, test, type Page } from '@playwright/test';
import { openDrawer, saveState, serveTinyModel } from './app-helpers.ts';

/** A link in the first format (base64url of the recipe's JSON), built here rather than by the app. */
const v1Link = (r: unknown) => `/#r=${Buffer.from(JSON.stringify(r)).toString('base64url')}`;

async function work(page: Page) {
  await expect(page.getByRole('status').filter({ hasText: 'Model ready' })).toBeVisible();
  await saveState(page, 'red', 'red apples and red cherries. ');
  await page.getByRole('checkbox', { name: 'Mix red' }).check();
  await page.getByRole('textbox', { name: 'Evaluation text' }).fill('red sky over the sea');
  await page.getByRole('textbox', { name: 'Query', exact: true }).fill('red ');
}

async function expectWorkIntact(page: Page) {
  await expect(page.getByRole('checkbox', { name: 'Mix red' })).toBeChecked();
  await expect(page.getByRole('textbox', { name: 'Evaluation text' })).toHaveValue('red sky over the sea');
  await expect(page.getByRole('textbox', { name: 'Query', exact: true })).toHaveValue('red ');
  await expect(page.getByRole('list', { name: 'Stored states' }).getByRole('listitem')).toHaveCount(1);
}

test('a bad session file is refused with the reason and changes nothing; a good one can be undone', async ({
  page,
}) => {
  await serveTinyModel(page);
  await page.goto('/?view=lab');
  await work(page);

  const session = (states: unknown) =>
    Buffer.from(
      JSON.stringify({
        type: 'state-soup-session',
        version: 1,
        states,
        mixed: [0],
        weights: [1],
        query: 'blue ',
        evalText: 'blue sky',
      }),
    );
  await openDrawer(page, 'Share');
  await page.getByLabel('Import session').setInputFiles({
    name: 'broken.json',
    mimeType: 'application/json',
    buffer: session('not a list'),
  });
  await expect(page.getByRole('alert').filter({ hasText: 'broken.json is damaged' })).toContainText(
    'Nothing was changed',
  );
  await expectWorkIntact(page);

  await openDrawer(page, 'Share');

  await page.getByLabel('Import session').setInputFiles({
    name: 'good.json',
    mimeType: 'application/json',
    buffer: session([{ name: 'blue', text: 'blue sky over a blue sea. ' }]),
  });
  await expect(page.getByRole('textbox', { name: 'Evaluation text' })).toHaveValue('blue sky');
  await expect(page.getByRole('checkbox', { name: 'Mix blue' })).toBeChecked();
  await expect(page.getByRole('checkbox', { name: 'Mix red' })).not.toBeChecked();
  await page.getByRole('button', { name: 'Undo', exact: true }).click();
  await expectWorkIntact(page);
  await expect(page.getByRole('checkbox', { name: 'Mix blue' })).toHaveCount(0);
});

test('a bad share link is refused and the saved mix survives it, in this tab and after a reload', async ({
  page,
}) => {
  await serveTinyModel(page);
  await page.goto('/?view=lab');
  await work(page);

  await page.goto('about:blank'); // from '/', a hash-only change would not reload the page
  await page.goto(v1Link({ foo: 1 }));
  await expect(page.getByRole('alert').filter({ hasText: 'no list of states' })).toContainText(
    'Your saved work is unchanged',
  );
  await expect(page.getByRole('status').filter({ hasText: 'Model ready' })).toBeVisible();
  await expectWorkIntact(page);
  await page.goto('/?view=lab');
  await expect(page.getByRole('status').filter({ hasText: 'Model ready' })).toBeVisible();
  await expectWorkIntact(page);
});

test('a link in the first (uncompressed) format still opens, and opening it can be undone', async ({
  page,
}) => {
  await serveTinyModel(page);
  await page.goto('/?view=lab');
  await work(page);
  await page.goto('about:blank');
  await page.goto(
    v1Link({
      model: 'fixture/tiny-b',
      states: [{ name: 'blue', text: 'blue sky over a blue sea. ' }],
      mixed: [0],
      weights: [0.7],
      mode: 'weighted',
      normalize: false,
      parts: { ssm: true, conv: true },
      profile: 'uniform',
      sampling: { temperature: 0, topK: 40, topP: 0.95, seed: 7, maxNewTokens: 32 },
      query: 'blue ',
      evalText: 'blue sky',
    }),
  );
  await expect(page.getByRole('status').filter({ hasText: 'Model ready' })).toBeVisible();
  await expect(page.getByRole('slider', { name: 'Weight of blue' })).toHaveAttribute('aria-valuenow', '0.7');
  await expect(page.getByRole('textbox', { name: 'Evaluation text' })).toHaveValue('blue sky');
  await expect(page.getByLabel('Seed')).toHaveValue('7');
  await page.getByRole('button', { name: 'Undo', exact: true }).click();
  await expectWorkIntact(page);
  // The link leaves the address bar with the undo, so a reload keeps the restored work.
  expect(new URL(page.url()).hash).toBe('');
  await page.reload();
  await expect(page.getByRole('status').filter({ hasText: 'Model ready' })).toBeVisible();
  await expectWorkIntact(page);
});

test('bundled model: a task preset replaces the mix, query and evaluation text, and Undo puts them back', async ({
  page,
}) => {
  await page.goto('/?view=lab');
  await work(page);
  await page.getByRole('button', { name: 'Make task states' }).click();
  await expect(page.getByRole('textbox', { name: 'Evaluation text' })).not.toHaveValue(
    'red sky over the sea',
  );
  await expect(page.getByRole('list', { name: 'Stored states' }).getByRole('listitem')).toHaveCount(4);
  await expect(page.getByRole('checkbox', { name: 'Mix red' })).not.toBeChecked();
  await page
    .getByRole('group', { name: /Task presets/ })
    .getByRole('button', { name: 'Undo', exact: true })
    .click();
  await expectWorkIntact(page);
});
