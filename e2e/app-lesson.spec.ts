/**
 * The lesson, the first view, on the real bundled model and software WebGPU: with no click it mixes the
 * uppercase and plural states by α, answers trace-> at α = 0, and the answer changes as α moves to 1; the
 * chart is there. It prints the times a newcomer waits: page load → Model ready → first answer, α → answer and
 * α → the chart's numbers at the cursor.
 */
import AxeBuilder from '@axe-core/playwright';
import { expect, test } from '@playwright/test';

test('lesson on the bundled model: the answer at α = 0 is TRACE, at α = 1 traces; the chart follows', async ({
  page,
}) => {
  test.setTimeout(240_000);
  const t0 = Date.now();
  await page.goto('/');
  const status = page.getByRole('status').filter({ hasText: 'Model ready' });
  await expect(status).toBeVisible({ timeout: 120_000 });
  const tReady = Date.now();
  await expect(page.getByRole('region', { name: 'Lesson' })).toContainText('mix the state of');
  const answer = page.getByLabel('Answer', { exact: true });
  await expect(answer).toHaveText('TRACE', { timeout: 60_000 });
  const tAnswer = Date.now();
  const slider = page.getByRole('slider', { name: /α/ });
  await expect(slider).toHaveAttribute('aria-valuenow', '0');
  await expect(page.getByRole('figure', { name: 'Chart against α' })).toBeVisible();
  await expect(page.getByLabel('Probability of TRACE', { exact: true })).toHaveText(/\d/, {
    timeout: 60_000,
  });
  const pTraceAt0 = Number(await page.getByLabel('Probability of TRACE', { exact: true }).textContent());
  const pTracesAt0 = Number(await page.getByLabel('Probability of traces', { exact: true }).textContent());
  expect(pTraceAt0).toBeGreaterThan(pTracesAt0);

  // α → 1 with the keyboard (End): the answer becomes the plural one; time both the answer and the cursor.
  await slider.focus();
  const tMove = Date.now();
  await slider.press('End');
  await expect(answer).toHaveText('traces', { timeout: 30_000 });
  const tAnswer1 = Date.now();
  await expect(page.getByLabel('Latency')).toContainText('chart in', { timeout: 30_000 });
  const tChart1 = Date.now();
  const pTraceAt1 = Number(await page.getByLabel('Probability of TRACE', { exact: true }).textContent());
  const pTracesAt1 = Number(await page.getByLabel('Probability of traces', { exact: true }).textContent());
  expect(pTracesAt1).toBeGreaterThan(pTraceAt1);
  const shown = await page.getByLabel('Latency').textContent();

  // The whole curve fills in: 11 points, then the baselines.
  await expect(page.getByRole('figure', { name: 'Chart against α' })).not.toContainText(
    'Computing the curve',
    {
      timeout: 120_000,
    },
  );
  await expect(page.getByRole('figure', { name: 'Chart against α' })).toContainText('zero state', {
    timeout: 60_000,
  });
  // Once the curve is there, back to α = 0: the latencies with nothing else running.
  const tMove0 = Date.now();
  await slider.press('Home');
  await expect(answer).toHaveText('TRACE', { timeout: 30_000 });
  const tAnswer0 = Date.now();
  await expect(page.getByLabel('Latency')).toContainText('chart in', { timeout: 30_000 });
  const tChart0 = Date.now();
  const shown0 = await page.getByLabel('Latency').textContent();
  console.log(
    `lesson timing, curve done (software WebGPU): α 1→0: answer ${tAnswer0 - tMove0} ms, chart ${tChart0 - tMove0} ms (page says: ${shown0})`,
  );
  console.log(
    `lesson timing (software WebGPU): load→Model ready ${tReady - t0} ms, Model ready→first answer ${tAnswer - tReady} ms, ` +
      `load→first answer ${tAnswer - t0} ms, α 0→1: answer ${tAnswer1 - tMove} ms, chart ${tChart1 - tMove} ms (page says: ${shown}); clicks: 0 to the first answer, 1 key to a changed answer`,
  );
});

test('lesson and lab on the bundled model: axe finds nothing of serious or critical impact in the lesson', async ({
  page,
}) => {
  test.setTimeout(240_000);
  await page.goto('/');
  await expect(page.getByLabel('Answer', { exact: true })).toHaveText('TRACE', { timeout: 120_000 });
  await expect(page.getByRole('figure', { name: 'Chart against α' })).toContainText('zero state', {
    timeout: 180_000,
  });
  const report = async (where: string) => {
    const r = await new AxeBuilder({ page }).analyze();
    const lines = r.violations.map((v) => `${v.impact ?? '?'} ${v.id} (${v.nodes.length})`);
    console.log(`axe, ${where}: ${lines.length ? lines.join('; ') : 'no violations'}`);
    return r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => v.id);
  };
  expect(await report('lesson')).toEqual([]);
  await page.getByRole('link', { name: 'Lab' }).click();
  await expect(page.getByRole('textbox', { name: 'Query', exact: true })).toBeVisible();
  // The lab's own fixes (heatmap contrast, tokens as tab stops) belong to the accessibility work: printed here.
  await report('lab');
});
