/**
 * A page for end-to-end tests of the non-visual modules (loading, storage, engine) in real Chromium: each
 * feature registers its entry points on `window.soup`, and Playwright calls them through page.evaluate.
 * Built beside the app (vite.config.ts lists it) so tests run against the same production bundle.
 */
const registry: Record<string, unknown> = {};
(window as unknown as { soup: Record<string, unknown> }).soup = registry;

const modules = import.meta.glob<{ register: (r: Record<string, unknown>) => void | Promise<void> }>(
  './parts/*.ts',
);
await Promise.all(Object.values(modules).map(async (load) => (await load()).register(registry)));
document.body.dataset['ready'] = 'true';
