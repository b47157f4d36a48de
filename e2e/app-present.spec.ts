import { expect, test } from '@playwright/test';
import { openDrawer, serveTinyModel } from './app-helpers.ts';

const rootFontSize = (page: import('@playwright/test').Page) =>
  page.evaluate(() => parseFloat(getComputedStyle(document.documentElement).fontSize));

test('presenter mode in the lab from the URL: large type, advanced controls hidden; the toggle and share link keep it', async ({
  page,
}) => {
  await serveTinyModel(page);
  await page.goto('/?present=1&view=lab');
  await expect(page.getByRole('status').filter({ hasText: 'Model ready' })).toBeVisible();
  const toggle = page.getByRole('button', { name: 'Presenter mode' });
  await expect(toggle).toHaveAttribute('aria-pressed', 'true');
  const big = await rootFontSize(page);
  // Advanced controls are gone; the basic ones keep their names.
  await expect(page.getByRole('spinbutton', { name: 'Temperature', exact: true })).toHaveCount(0);
  await expect(page.getByRole('combobox', { name: /^Mode\b/ })).toHaveCount(0);
  await expect(page.getByRole('region', { name: 'Storage' })).toHaveCount(0);
  await expect(page.getByRole('button', { name: 'Copy share link' })).toHaveCount(0);
  await expect(page.getByRole('textbox', { name: 'Query', exact: true })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Generate' })).toBeVisible();
  await expect(page.getByRole('textbox', { name: 'State text' })).toBeVisible();
  await expect(page.getByLabel('Hidden controls')).toContainText('sampling settings');

  // The visible toggle turns it off: normal type, everything back, the URL without present=1.
  await toggle.click();
  await expect(toggle).toHaveAttribute('aria-pressed', 'false');
  await expect(page.getByRole('spinbutton', { name: 'Temperature', exact: true })).toBeVisible();
  await expect(page.getByRole('combobox', { name: /^Mode\b/ })).toBeVisible();
  await openDrawer(page, 'Storage');
  await expect(page.getByRole('region', { name: 'Storage' })).toBeVisible();
  await expect(page.getByLabel('Hidden controls')).toHaveCount(0);
  expect(big).toBeGreaterThan(1.2 * (await rootFontSize(page)));
  expect(new URL(page.url()).searchParams.get('present')).toBeNull();

  // And on again: the address says so, so a reload stays in presenter mode.
  await toggle.click();
  await expect(page.getByRole('spinbutton', { name: 'Temperature', exact: true })).toHaveCount(0);
  expect(new URL(page.url()).searchParams.get('present')).toBe('1');
  await page.reload();
  await expect(page.getByRole('button', { name: 'Presenter mode' })).toHaveAttribute('aria-pressed', 'true');
});

test('a teacher hides parts through the URL, without presenter mode, and can keep some in presenter mode', async ({
  page,
  browser,
}) => {
  await serveTinyModel(page);
  await page.goto('/?view=lab&hide=retrieval,inspector,sweep');
  await expect(page.getByRole('status').filter({ hasText: 'Model ready' })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Presenter mode' })).toHaveAttribute('aria-pressed', 'false');
  await expect(page.getByRole('region', { name: 'Retrieval' })).toHaveCount(0);
  await expect(page.getByRole('button', { name: 'Inspect stored states' })).toHaveCount(0);
  await expect(page.getByRole('heading', { name: 'Sweep' })).toHaveCount(0);
  await expect(page.getByRole('spinbutton', { name: 'Temperature', exact: true })).toBeVisible();

  await page.goto('/?view=lab&present=1&show=sampling');
  await expect(page.getByRole('status').filter({ hasText: 'Model ready' })).toBeVisible();
  await expect(page.getByRole('spinbutton', { name: 'Temperature', exact: true })).toBeVisible();
  await expect(page.getByRole('combobox', { name: /^Mode\b/ })).toHaveCount(0);

  // A share link made in presenter mode (Share kept visible with show=) opens in presenter mode.
  await page.goto('/?view=lab&present=1&show=share');
  await expect(page.getByRole('status').filter({ hasText: 'Model ready' })).toBeVisible();
  await openDrawer(page, 'Share');
  await page.getByRole('button', { name: 'Copy share link' }).click();
  const link = await page.getByRole('textbox', { name: 'Share link' }).inputValue();
  expect(link).toContain('#r=');
  expect(new URL(link).searchParams.get('present')).toBe('1');
  const other = await browser.newContext();
  const fresh = await other.newPage();
  await serveTinyModel(fresh);
  await fresh.goto(link);
  await expect(fresh.getByRole('status').filter({ hasText: 'Model ready' })).toBeVisible();
  await expect(fresh.getByRole('button', { name: 'Presenter mode' })).toHaveAttribute('aria-pressed', 'true');
  await expect(fresh.getByRole('combobox', { name: /^Mode\b/ })).toHaveCount(0);
  await other.close();
});

test('presenter mode alone is the lesson at projector scale, with nothing else; the Lab is one click away without it', async ({
  page,
}) => {
  await serveTinyModel(page);
  await page.goto('/?present=1');
  await expect(page.getByRole('status').filter({ hasText: 'Model ready' })).toBeVisible();
  await expect(page.getByRole('region', { name: 'Lesson' })).toBeVisible();
  // The fixture model has no task suite: the lesson says so instead of waiting.
  await expect(page.getByRole('region', { name: 'Lesson' })).toContainText('The Lab works with any model');
  await expect(page.getByRole('navigation', { name: 'Views' })).toHaveCount(0);
  await expect(page.getByRole('textbox', { name: 'Query', exact: true })).toHaveCount(0);
  await expect(page.getByRole('region', { name: 'Generation' })).toHaveCount(0);
  const big = await rootFontSize(page);

  await page.getByRole('button', { name: 'Presenter mode' }).click();
  expect(big).toBeGreaterThan(1.2 * (await rootFontSize(page)));
  await page.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: 'Lab' }).click();
  expect(new URL(page.url()).searchParams.get('view')).toBe('lab');
  await expect(page.getByRole('textbox', { name: 'Query', exact: true })).toBeVisible();
  await expect(page.getByRole('status').filter({ hasText: 'Model ready' })).toBeVisible();
  await page.getByRole('link', { name: 'Studies' }).click();
  await expect(page.getByRole('heading', { name: 'Studies' })).toBeVisible();
  await expect(page.getByRole('status').filter({ hasText: 'Model ready' })).toBeVisible();
  // Back returns to the lab, as the address says.
  await page.goBack();
  await expect(page.getByRole('textbox', { name: 'Query', exact: true })).toBeVisible();
});
