/**
 * The app specs on a private port and a private build, for running them while other specs (and other
 * builds of dist/) run beside them: `npx vite build --outDir /tmp/soup-app-dist --emptyOutDir` then
 * `npx playwright test -c e2e/app.playwright.config.ts`. Same browser and launch flags as the main config;
 * `npx playwright test` (the full suite) runs the same specs against dist/ on the usual port.
 */
import { defineConfig } from '@playwright/test';
import base from '../playwright.config.ts';

const PORT = 4183;
const OUT_DIR = process.env['SOUP_APP_DIST'] ?? '/tmp/soup-app-dist';

export default defineConfig({
  ...base,
  testDir: '.',
  testMatch: 'app*.spec.ts',
  use: { ...base.use, baseURL: `http://localhost:${PORT}` },
  webServer: {
    command: `npx vite preview --port ${PORT} --strictPort --outDir ${OUT_DIR}`,
    url: `http://localhost:${PORT}`,
    reuseExistingServer: false,
    timeout: 60_000,
  },
});
