import { expect, test } from '@playwright/test';
import { openDrawer, saveState } from './app-helpers.ts';

// Examples from the bundled model's tasks.json (antonym and capital train lists); queries use pairs that are
// in none of the saved states.
const ANT_1 = 'begin->end\nbelow->above\nbig->little\nblack->white\n';
const ANT_2 = 'able->unable\nabove->below\nalive->dead\naccept->refuse\n';
const CAP_1 = 'Chile->Santiago\nChina->Beijing\nCroatia->Zagreb\nCuba->Havana\n';

test('retrieval on the bundled model: a query ranks the states of its own task first; Mix top k sets the mixer', async ({
  page,
}) => {
  await page.goto('/?view=lab');
  await expect(page.getByRole('status').filter({ hasText: 'Model ready' })).toBeVisible();
  await saveState(page, 'ant 1', ANT_1);
  await saveState(page, 'cap 1', CAP_1);
  await saveState(page, 'ant 2', ANT_2);

  await openDrawer(page, 'Retrieval');
  const panel = page.getByRole('region', { name: 'Retrieval' });
  const hits = panel.getByRole('list', { name: 'Retrieved states' });
  await expect(panel.getByLabel('States to rank')).toHaveText('3 of 3 stored states ready to rank.');
  const rankFor = async (query: string) => {
    await panel.getByRole('textbox', { name: 'Retrieval query' }).fill(query);
    await panel.getByRole('button', { name: 'Rank states' }).click();
    await expect(hits.getByRole('listitem')).toHaveCount(3);
    await expect(hits).toHaveAttribute('aria-busy', 'false');
    return (await hits.getByRole('listitem').allTextContents()).map((t) => {
      const [name, score] = t.split(': ');
      return { name: name!, score: Number(score) };
    });
  };

  const antonym = await rankFor('best->worst\nbirth->death\n');
  console.log('antonym query (cosine, all layers):', JSON.stringify(antonym));
  expect(
    antonym
      .slice(0, 2)
      .map((h) => h.name)
      .sort(),
  ).toEqual(['ant 1', 'ant 2']);
  expect(antonym[2]!.name).toBe('cap 1');
  // Best first, cosines within [−1, 1].
  expect(antonym[0]!.score).toBeGreaterThanOrEqual(antonym[1]!.score);
  expect(antonym[1]!.score).toBeGreaterThan(antonym[2]!.score);
  for (const h of antonym) expect(Math.abs(h.score)).toBeLessThanOrEqual(1);

  // Mix the top 2 with τ = 0.05: the two antonym states are mixed, the capital one is not, weights sum to 1.
  await panel.getByRole('spinbutton', { name: 'k' }).fill('2');
  await panel.getByRole('spinbutton', { name: 'Temperature τ' }).fill('0.05');
  await panel.getByRole('button', { name: 'Mix top k' }).click();
  await expect(page.getByRole('checkbox', { name: 'Mix ant 1' })).toBeChecked();
  await expect(page.getByRole('checkbox', { name: 'Mix ant 2' })).toBeChecked();
  await expect(page.getByRole('checkbox', { name: 'Mix cap 1' })).not.toBeChecked();
  const w1 = Number(
    await page.getByRole('slider', { name: 'Weight of ant 1' }).getAttribute('aria-valuenow'),
  );
  const w2 = Number(
    await page.getByRole('slider', { name: 'Weight of ant 2' }).getAttribute('aria-valuenow'),
  );
  expect(w1 + w2).toBeCloseTo(1, 2);
  // softmax(score/τ) of the shown scores (rounded to 4 digits, the weights to 3).
  const byName = Object.fromEntries(antonym.map((h) => [h.name, h.score]));
  const e1 = Math.exp((byName['ant 1']! - byName['ant 2']!) / 0.05);
  expect(w1).toBeCloseTo(e1 / (1 + e1), 2);

  // A capital query ranks the capital state first, with L2 on one layer as well.
  const capital = await rankFor('Cyprus->Nicosia\nComoros->Moroni\n');
  console.log('capital query (cosine, all layers):', JSON.stringify(capital));
  expect(capital[0]!.name).toBe('cap 1');
  await panel.getByRole('combobox', { name: 'Similarity' }).selectOption('l2');
  await panel.getByRole('combobox', { name: 'Layer' }).selectOption('layer 4');
  const capitalL2 = await rankFor('Cyprus->Nicosia\nComoros->Moroni\n');
  console.log('capital query (L2, layer 4):', JSON.stringify(capitalL2));
  expect(capitalL2[0]!.name).toBe('cap 1');
  for (const h of capitalL2) expect(h.score).toBeLessThan(0);
});
