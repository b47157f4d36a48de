/**
 * The split into Vitest projects stays true: a test file that opens a WebGPU device (directly, through a test
 * helper, or by running the CLI) is listed in vitest.config.ts's GPU_TESTS, so it runs one file at a time in
 * the `gpu` project, and no file sits there without needing it.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GPU_TESTS } from '../vitest.config.ts';

const ROOT = resolve(import.meta.dirname, '..');
// What opening a device looks like in this repository: Node's Dawn binding, the helper over it, or the CLI.
const GPU_MARKERS = /openNodeDevice|openModelDir|nodeGpu|from 'webgpu'|src\/cli\/main\.ts/;

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'fixtures' ? [] : testFiles(path);
    return e.name.endsWith('.test.ts') ? [relative(ROOT, path)] : [];
  });
}

/** The file's text and that of the test helpers it imports (relative imports inside tests/, transitively). */
function sourceWithHelpers(file: string, seen = new Set<string>()): string {
  if (seen.has(file)) return '';
  seen.add(file);
  const text = readFileSync(join(ROOT, file), 'utf8');
  const helpers = [...text.matchAll(/from '(\.{1,2}\/[^']+)'/g)]
    .map((m) => relative(ROOT, resolve(dirname(join(ROOT, file)), m[1]!)))
    .filter((p) => p.startsWith('tests/') && existsSync(join(ROOT, p)));
  return [text, ...helpers.map((h) => sourceWithHelpers(h, seen))].join('\n');
}

describe('vitest projects', () => {
  const all = testFiles(join(ROOT, 'tests')).sort();

  it('every file listed as a GPU test exists', () => {
    for (const f of GPU_TESTS) expect(all, f).toContain(f);
  });

  it('the gpu project holds exactly the files that open a device', () => {
    const self = relative(ROOT, import.meta.filename); // names the markers without opening anything
    const opening = all.filter((f) => f !== self && GPU_MARKERS.test(sourceWithHelpers(f)));
    expect(opening.length).toBeGreaterThan(0);
    expect([...GPU_TESTS].sort()).toEqual(opening);
  });
});
