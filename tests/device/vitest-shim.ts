/**
 * The part of Vitest's API that the GPU test files use (describe, it, it.each, the four hooks, expect),
 * for running those same files on the GPU machine, where node_modules (and so Vitest and its native bundler)
 * cannot travel. `scripts/bundle-gpu-tests.mjs` bundles every file of the `gpu` project with `vitest`
 * resolved to this module; `expect` is Vitest's own (`@vitest/expect` over chai), so every matcher behaves
 * as under Vitest. Tests run one at a time in file order, hooks as Vitest orders them, with Vitest's
 * per-test timeout from vitest.config.ts; ctx.skip() inside a test reports it skipped.
 */
import * as chai from 'chai';
import {
  JestAsymmetricMatchers,
  JestChaiExpect,
  JestExtend,
  getState,
  setState,
  type ExpectStatic,
} from '@vitest/expect';

chai.use(JestExtend);
chai.use(JestChaiExpect);
chai.use(JestAsymmetricMatchers);

type Fn = () => unknown;
interface Suite {
  name: string;
  children: (Suite | Test)[];
  beforeAll: Fn[];
  afterAll: Fn[];
  beforeEach: Fn[];
  afterEach: Fn[];
}
interface Test {
  name: string;
  fn?: Fn;
  timeout?: number;
}

const newSuite = (name: string): Suite => ({
  name,
  children: [],
  beforeAll: [],
  afterAll: [],
  beforeEach: [],
  afterEach: [],
});
let current = newSuite('');

export const expect = ((value: unknown, message?: string) => {
  const { assertionCalls } = getState(expect);
  setState({ assertionCalls: assertionCalls + 1 }, expect);
  return chai.expect(value, message);
}) as unknown as ExpectStatic;
Object.assign(expect, chai.expect);
setState({ assertionCalls: 0, isExpectingAssertions: false, expectedAssertionsNumber: null }, expect);

function addSuite(name: string, body: () => void): void {
  const parent = current;
  const s = newSuite(name);
  parent.children.push(s);
  current = s;
  try {
    body();
  } finally {
    current = parent;
  }
}

function format(name: string, args: unknown[]): string {
  let i = 0;
  return name.replace(/%[sdifjo]/g, () => String(args[i++]));
}

/** What ctx.skip() throws: the test stops there and is reported as skipped, as Vitest does. */
class Skipped extends Error {}
/** The test context a test function receives (the part the GPU test files use). */
const context = {
  skip: (): never => {
    throw new Skipped('skipped');
  },
};

type TestFn = (ctx: typeof context) => unknown;

/** it(name, fn, timeout?) or, as Vitest also takes it, it(name, { timeout }, fn). */
function addTest(name: string, a?: TestFn | { timeout?: number }, b?: TestFn | number): void {
  const fn = typeof a === 'function' ? a : typeof b === 'function' ? b : undefined;
  const timeout = typeof b === 'number' ? b : typeof a === 'object' ? a.timeout : undefined;
  current.children.push({ name, fn: fn && (() => fn(context)), timeout });
}
export const it = Object.assign(addTest, {
  skip: (name: string) => addTest(name),
  each:
    <T>(table: readonly T[]) =>
    (name: string, fn: (...args: unknown[]) => unknown, timeout?: number) => {
      for (const row of table) {
        const args = Array.isArray(row) ? (row as unknown[]) : [row];
        addTest(format(name, args), () => fn(...args), timeout);
      }
    },
});
export const test = it;
// describe.each as Vitest spells it: one suite per row, the row spread as arguments and into the name's %s.
export const describe = Object.assign(addSuite, {
  each:
    <T>(table: readonly T[]) =>
    (name: string, body: (...args: unknown[]) => void) => {
      for (const row of table) {
        const args = Array.isArray(row) ? (row as unknown[]) : [row];
        addSuite(format(name, args), () => body(...args));
      }
    },
});
export const beforeAll = (fn: Fn) => current.beforeAll.push(fn);
export const afterAll = (fn: Fn) => current.afterAll.push(fn);
export const beforeEach = (fn: Fn) => current.beforeEach.push(fn);
export const afterEach = (fn: Fn) => current.afterEach.push(fn);

/** Collects the tests a file registers when `load` imports it, and returns them as one suite. */
export async function collect(file: string, load: () => Promise<unknown>): Promise<Suite> {
  const root = newSuite(file);
  current = root;
  try {
    await load();
  } finally {
    current = newSuite('');
  }
  return root;
}

export interface Outcome {
  name: string;
  ok: boolean | 'skipped';
  ms: number;
  error?: string;
}

async function withTimeout(fn: Fn, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      Promise.resolve().then(fn),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

const message = (e: unknown) => (e instanceof Error ? (e.stack ?? e.message) : String(e)).slice(0, 2000);

/** Runs a suite as Vitest would: beforeAll, then each test between the beforeEach/afterEach of its ancestors. */
export async function run(
  suite: Suite,
  timeout: number,
  report: (o: Outcome) => void,
  path: string[] = [],
  each: { before: Fn[]; after: Fn[] } = { before: [], after: [] },
): Promise<void> {
  const here = [...path, suite.name].filter(Boolean);
  const hooks = { before: [...each.before, ...suite.beforeEach], after: [...suite.afterEach, ...each.after] };
  try {
    for (const h of suite.beforeAll) await withTimeout(h, timeout);
  } catch (e) {
    report({ name: [...here, '(beforeAll)'].join(' > '), ok: false, ms: 0, error: message(e) });
    return;
  }
  for (const child of suite.children) {
    if ('children' in child) {
      await run(child, timeout, report, here, hooks);
      continue;
    }
    const name = [...here, child.name].join(' > ');
    if (!child.fn) {
      report({ name, ok: 'skipped', ms: 0 });
      continue;
    }
    const t0 = performance.now();
    try {
      for (const h of hooks.before) await withTimeout(h, timeout);
      await withTimeout(child.fn, child.timeout ?? timeout);
      for (const h of hooks.after) await withTimeout(h, timeout);
      report({ name, ok: true, ms: performance.now() - t0 });
    } catch (e) {
      if (e instanceof Skipped) {
        for (const h of hooks.after) await withTimeout(h, timeout);
        report({ name, ok: 'skipped', ms: performance.now() - t0 });
        continue;
      }
      report({ name, ok: false, ms: performance.now() - t0, error: message(e) });
    }
  }
  for (const h of suite.afterAll) {
    try {
      await withTimeout(h, timeout);
    } catch (e) {
      report({ name: [...here, '(afterAll)'].join(' > '), ok: false, ms: 0, error: message(e) });
    }
  }
}
