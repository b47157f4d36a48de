/**
 * Predict, then reveal on the bundled model's task presets: the continuations stay covered until Reveal, and
 * the check compares the locked-in guess with the mix's answer and with the answer tasks.json pairs with the
 * held-out query.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from '@playwright/test';
import { firstLine } from './app-helpers.ts';

const TASKS = join(dirname(fileURLToPath(import.meta.url)), '../public/models/soup-mamba-4.6m/tasks.json');
const suite = JSON.parse(readFileSync(TASKS, 'utf8')) as {
  separator: string;
  tasks: { name: string; heldout: [string, string][] }[];
};

test('predict then reveal on the bundled model: covered until Reveal, then guess vs the mix vs the task', async ({
  page,
}) => {
  test.setTimeout(300_000);
  await page.goto('/?view=lab');
  await expect(page.getByRole('status').filter({ hasText: 'Model ready' })).toBeVisible();
  await page.getByRole('combobox', { name: 'Task' }).selectOption('antonym');
  await page.getByRole('button', { name: 'Make task states' }).click();
  const list = page.getByRole('list', { name: 'Stored states' });
  await expect(list.locator('.library-meta', { hasText: /\d+ tokens/ })).toHaveCount(3);

  // The held-out query the preset put in place, and the answer tasks.json pairs with it.
  const query = await page.getByRole('textbox', { name: 'Query', exact: true }).inputValue();
  const antonym = suite.tasks.find((t) => t.name === 'antonym')!;
  const answers = antonym.heldout.filter(([i]) => `${i}${suite.separator}` === query).map((p) => p[1]);
  expect(answers.length).toBeGreaterThan(0);
  const answer = answers[0]!;

  await page.getByRole('checkbox', { name: 'Predict, then reveal' }).check();
  const generate = page.getByRole('button', { name: 'Generate' });
  await expect(generate).toBeDisabled(); // a prediction comes first
  const guess = page.getByRole('textbox', { name: 'Your prediction' });
  await guess.fill(answer);
  await generate.click();

  const region = page.getByRole('region', { name: 'Generation' });
  await expect(region.getByText(/ready behind this cover/)).toBeVisible();
  await expect(region.getByRole('article')).toHaveCount(0);
  await expect(region.getByText('still generating')).toHaveCount(0, { timeout: 240_000 });
  // Editing the guess now changes nothing: the guess was locked in with Generate.
  await guess.fill('something else');
  await page.getByRole('button', { name: 'Reveal' }).click();

  const mix = region.getByRole('article', { name: 'Mix' });
  await expect(mix).toBeVisible();
  const mixAnswer = await firstLine(mix);
  const dl = page.getByLabel('Prediction check');
  await expect(dl).toContainText(`You predicted${answer}`);
  await expect(dl).toContainText(
    `The mix answered${mixAnswer || '(an empty line)'} — your guess ${mixAnswer === answer ? 'matches' : 'differs'}`,
  );
  await expect(dl).toContainText(
    `The task expects${answer} — you: right, the mix: ${mixAnswer === answer ? 'right' : 'wrong'}`,
  );
  console.log(
    `query ${JSON.stringify(query)}: expected ${answer}, the mix answered ${JSON.stringify(mixAnswer)}`,
  );

  // A new round covers the continuations again and compares the new guess.
  await generate.click();
  await expect(region.getByRole('article')).toHaveCount(0);
  await expect(region.getByText('still generating')).toHaveCount(0, { timeout: 240_000 });
  await page.getByRole('button', { name: 'Reveal' }).click();
  await expect(dl).toContainText('You predictedsomething else');
  await expect(dl).toContainText(`The task expects${answer} — you: wrong`);
});
