/**
 * Screenshots of the lesson (1366×768), presenter mode (1920×1080), a phone (390×844) and the lab (1366×768)
 * on the bundled model, for the README. Run on purpose:
 * SOUP_SCREENSHOTS=1 npx playwright test e2e/app-lesson-screenshots.spec.ts
 */
import { expect, test, type Page } from '@playwright/test';

test.skip(!process.env['SOUP_SCREENSHOTS'], 'takes screenshots only when SOUP_SCREENSHOTS=1');

/** Opens `path` at a viewport size and waits for the lesson's answer and its whole curve. */
async function lessonAt(page: Page, path: string, width: number, height: number) {
  await page.setViewportSize({ width, height });
  await page.goto(path);
  await expect(page.getByLabel('Answer', { exact: true })).toHaveText('TRACE', { timeout: 120_000 });
  await expect(page.getByRole('figure', { name: 'Chart against α' })).toContainText('zero state', {
    timeout: 180_000,
  });
}

test('screenshots of the lesson, presenter mode, a phone and the lab', async ({ page }) => {
  test.setTimeout(600_000);
  await lessonAt(page, '/', 1366, 768);
  // α = 0.6: past this noun's switch, so the answer and the cursor show the plural side.
  const slider = page.getByRole('slider', { name: /α/ });
  await slider.focus();
  for (let i = 0; i < 6; i++) await slider.press('Shift+ArrowRight');
  await expect(page.getByLabel('Answer', { exact: true })).toHaveText('traces', { timeout: 30_000 });
  await expect(page.getByLabel('Latency')).toContainText('chart in', { timeout: 60_000 });
  await page.screenshot({ path: 'docs/screenshots/13-lesson.png' });

  await lessonAt(page, '/?present=1', 1920, 1080);
  await page.screenshot({ path: 'docs/screenshots/14-lesson-presenter.png' });

  await lessonAt(page, '/', 390, 844);
  await page.screenshot({ path: 'docs/screenshots/15-lesson-phone.png', fullPage: true });

  await page.setViewportSize({ width: 1366, height: 768 });
  await page.getByRole('link', { name: 'Lab' }).click();
  await expect(page.getByRole('checkbox', { name: /^Mix / }).first()).toBeVisible();
  await page.getByRole('checkbox', { name: /^Mix / }).first().check();
  await page.screenshot({ path: 'docs/screenshots/16-lab.png' });
});
