/**
 * Accessibility and small screens, per view: axe (WCAG 2.x A/AA rules) finds no violation of serious or
 * critical impact, and at 390×844 nothing scrolls sideways. Each view is opened and put into a state that
 * shows its results (tokens, perplexity, the heatmap) before it is checked. To check another view, add it
 * to VIEWS with the steps that bring it to life.
 */
import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Page } from '@playwright/test';
import { openDrawer, serveTinyModel } from './app-helpers.ts';

interface View {
  name: string;
  path: string;
  /** Brings the view to the state to be checked, the model already loaded. */
  prepare(page: Page): Promise<void>;
}

/** Eight states with long names (a wide heatmap), two of them mixed, a query and an evaluation text. */
const SESSION = {
  type: 'state-soup-session',
  version: 1,
  states: [
    'red apples and red cherries. ',
    'blue sky over a blue sea. ',
    'green grass in the green field. ',
    'a yellow sun on yellow sand. ',
    'black night and black coffee. ',
    'white snow on a white roof. ',
    'an orange fox and an orange. ',
    'purple grapes in a purple bowl. ',
  ].map((text) => ({ name: `${text.split(' ')[0]}-${text.split(' ')[1]}-state-with-a-long-name`, text })),
  mixed: [0, 1],
  weights: [0.5, 0.5],
  query: 'blue ',
  evalText: 'red sky over the sea',
};

async function playgroundWithResults(page: Page) {
  await openDrawer(page, 'Share');
  await page.getByLabel('Import session').setInputFiles({
    name: 'colours.json',
    mimeType: 'application/json',
    buffer: Buffer.from(JSON.stringify(SESSION)),
  });
  await expect(page.getByRole('list', { name: 'Stored states' }).getByRole('listitem')).toHaveCount(8);
  await expect(page.locator('progress[aria-label^="Computing"]')).toHaveCount(0);
  await expect(page.getByLabel('Perplexity', { exact: true })).toHaveText(/\d/);
  await page.getByRole('button', { name: 'Generate' }).click();
  await expect(page.getByRole('region', { name: 'Generation' }).locator('.gen-token').first()).toBeVisible();
  await page.getByRole('button', { name: 'Inspect' }).click();
  await expect(page.locator('.heatmap tbody td')).toHaveCount(64);
}

export const VIEWS: View[] = [{ name: 'playground', path: '/?view=lab', prepare: playgroundWithResults }];

async function open(page: Page, view: View) {
  await serveTinyModel(page);
  await page.goto(view.path);
  await expect(page.getByRole('status').filter({ hasText: 'Model ready' })).toBeVisible();
  await view.prepare(page);
  // Let generation finish so the page is checked at rest.
  await expect(page.getByText('generating…')).toHaveCount(0);
}

const SERIOUS = ['serious', 'critical'];

for (const view of VIEWS) {
  test(`${view.name}: axe finds no serious or critical violation`, async ({ page }) => {
    await page.setViewportSize({ width: 1366, height: 768 });
    await open(page, view);
    const result = await new AxeBuilder({ page })
      .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'])
      .analyze();
    const bad = result.violations.filter((v) => SERIOUS.includes(v.impact ?? ''));
    const summary = result.violations.map(
      (v) => `${v.impact} ${v.id}: ${v.nodes.length} node(s), e.g. ${v.nodes[0]?.target.join(' ')}`,
    );
    console.log(`${view.name}: axe violations (all impacts):\n${summary.join('\n') || 'none'}`);
    expect(bad.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)).toEqual([]);
  });

  test(`${view.name} at 390×844: nothing scrolls sideways`, async ({ page }) => {
    await page.setViewportSize({ width: 390, height: 844 });
    await open(page, view);
    const wide = await page.evaluate(() => {
      const w = document.documentElement.clientWidth;
      const over = [...document.querySelectorAll<HTMLElement>('body *')]
        .filter((e) => e.getBoundingClientRect().right > w + 0.5 && e.getClientRects().length > 0)
        .filter((e) => !e.closest('.token-tip, [hidden]'))
        .slice(0, 8)
        .map(
          (e) =>
            `${e.tagName.toLowerCase()}.${[...e.classList].join('.')} → ${Math.round(e.getBoundingClientRect().right)}`,
        );
      return { scroll: document.documentElement.scrollWidth, width: w, over };
    });
    expect(wide.over).toEqual([]);
    expect(wide.scroll).toBeLessThanOrEqual(wide.width);
  });
}

test('keyboard: a skip link to the one main landmark; a generation is one tab stop, its tokens reached by arrows', async ({
  page,
}) => {
  await serveTinyModel(page);
  await page.goto('/?view=lab');
  await expect(page.getByRole('status').filter({ hasText: 'Model ready' })).toBeVisible();
  await expect(page.getByRole('main')).toHaveCount(1);
  await page.keyboard.press('Tab');
  const skip = page.getByRole('link', { name: 'Skip to the playground' });
  await expect(skip).toBeFocused();
  await expect(skip).toBeInViewport();
  await page.keyboard.press('Enter');
  await expect(page.getByRole('main')).toBeFocused();

  await playgroundWithResults(page);
  await expect(page.getByText('generating…')).toHaveCount(0);
  const column = page.getByRole('region', { name: 'Generation' }).getByRole('article', { name: 'Mix' });
  const tokens = column.locator('.gen-token');
  expect(await tokens.count()).toBeGreaterThan(3);
  await expect(column.locator('[tabindex="0"]')).toHaveCount(1);
  await tokens.first().focus();
  await page.keyboard.press('ArrowRight');
  await expect(tokens.nth(1)).toBeFocused();
  // The focused token shows its probability and alternatives.
  await expect(tokens.nth(1).locator('.token-tip')).toBeVisible();
  await page.keyboard.press('End');
  await expect(tokens.last()).toBeFocused();
  await expect(column.locator('[tabindex="0"]')).toHaveCount(1);
});
