import { expect, test } from '@playwright/test';
import { serveTinyModel } from './app-helpers.ts';

/** A share link whose states carry task labels (the tiny fixture has no tasks.json, so no presets). */
function recipeLink(states: { name: string; text: string; task?: string }[]): string {
  const recipe = { states, mixed: [], weights: [], mode: 'weighted', query: '', evalText: '' };
  return `/#r=${Buffer.from(JSON.stringify(recipe)).toString('base64url')}`;
}

test('PCA map: the stored states as points coloured by task, with a legend, names on focus, per layer', async ({
  page,
}) => {
  await serveTinyModel(page);
  await page.goto(
    recipeLink([
      { name: 'red one', text: 'red apples and red cherries. ', task: 'colour' },
      { name: 'red two', text: 'a red car on a red road. ', task: 'colour' },
      { name: 'count one', text: 'one two three four five ', task: 'count' },
      { name: 'count two', text: 'six seven eight nine ten ', task: 'count' },
      { name: 'loose', text: 'the quick brown fox ' },
    ]),
  );
  await expect(page.getByRole('status').filter({ hasText: 'Model ready' })).toBeVisible();
  const list = page.getByRole('list', { name: 'Stored states' });
  await expect(list.locator('.library-meta', { hasText: /\d+ tokens/ })).toHaveCount(5);
  await page.getByRole('button', { name: 'Inspect stored states' }).click();

  const map = page.getByRole('group', { name: /^PCA map: PC1 explains \d+ %, PC2 \d+ %/ });
  await expect(map).toBeVisible();
  const points = map.getByRole('img');
  await expect(points).toHaveCount(5);
  const legend = page.getByRole('list', { name: 'Task colours' });
  await expect(legend.getByRole('listitem')).toHaveText(['colour', 'count', 'no task label']);

  // Same task, same colour; different tasks, different colours.
  const fill = (name: string) =>
    map.getByRole('img', { name: new RegExp(`^${name}, `) }).getAttribute('fill');
  expect(await fill('red one')).toBe(await fill('red two'));
  expect(await fill('count one')).toBe(await fill('count two'));
  expect(await fill('red one')).not.toBe(await fill('count one'));
  expect(await fill('loose')).not.toBe(await fill('red one'));

  // Keyboard: Tab reaches a point, its name shows in the tooltip; the arrow keys go to the next point.
  await page.getByRole('combobox', { name: 'PCA layer' }).focus();
  await page.keyboard.press('Tab');
  const tip = page.getByRole('tooltip');
  await expect(tip).toBeVisible();
  const first = (await tip.locator('strong').textContent())!;
  await expect(page.locator(':focus')).toHaveAttribute('aria-label', new RegExp(`^${first}, `));
  await page.keyboard.press('ArrowRight');
  await expect(tip.locator('strong')).not.toHaveText(first);
  // Hover shows the name as well.
  await map.getByRole('img', { name: /^count two, count:/ }).hover();
  await expect(tip.locator('strong')).toHaveText('count two');

  // The points' coordinates are the principal coordinates: their centroid is the origin, on all layers or one.
  const coords = async () =>
    (await points.evaluateAll((els) => els.map((e) => e.getAttribute('aria-label')!))).map((l) => {
      const m = /PC1 (\S+), PC2 (\S+)$/.exec(l)!;
      return [Number(m[1]), Number(m[2])];
    });
  const centroidNearZero = (c: number[][]) => {
    const scale = Math.max(...c.flat().map(Math.abs));
    for (const k of [0, 1])
      expect(Math.abs(c.reduce((s, p) => s + p[k]!, 0) / c.length)).toBeLessThan(0.01 * scale);
  };
  const all = await coords();
  centroidNearZero(all);
  const layers = await page.getByRole('combobox', { name: 'PCA layer' }).locator('option').count();
  expect(layers).toBeGreaterThan(1);
  await page.getByRole('combobox', { name: 'PCA layer' }).selectOption({ label: 'layer 0' });
  await expect.poll(async () => JSON.stringify(await coords())).not.toBe(JSON.stringify(all));
  centroidNearZero(await coords());
});
