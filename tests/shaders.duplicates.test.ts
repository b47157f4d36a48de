/**
 * No kernel family is written twice: no two files under shaders/ (includes too) share a run of 15 or more
 * lines once whitespace is normalised. Shared text goes into shaders/include/, variants into one source
 * with #ifdef (scripts/shaders/preprocess.ts).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { longestSharedRun, normalisedLines } from '../scripts/shaders/duplicates.ts';

const LIMIT = 15;
const root = join(import.meta.dirname, '..', 'shaders');

function wgslFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? wgslFiles(join(dir, e.name)) : e.name.endsWith('.wgsl') ? [join(dir, e.name)] : [],
  );
}

describe('the run detector', () => {
  const body = Array.from({ length: 20 }, (_, i) => `  let v${i} = x[${i}u];`).join('\n');
  it('finds a copied run through reindenting, extra spaces and blank lines', () => {
    const a = `fn a() {\n${body}\n}`;
    const b = `// other\nfn b() {\n\n${body.replace(/ {2}/g, '      ').replace(/ = /g, '  =  ')}\n}`;
    expect(longestSharedRun(a, b)).toEqual({ length: 21, atA: 1, atB: 2 });
  });
  it('counts only consecutive lines', () => {
    const lines = normalisedLines(body);
    const interleaved = lines.map((l, i) => (i % 10 === 9 ? `${l}\n// cut` : l)).join('\n');
    expect(longestSharedRun(body, interleaved).length).toBe(10);
  });
});

describe('shaders/', () => {
  const files = wgslFiles(root);
  it('holds the kernel sources and their includes', () => {
    expect(files.length).toBeGreaterThan(10);
    expect(files.some((f) => f.includes(`${join('include', '')}`))).toBe(true);
  });
  it(`has no two files sharing a run of ${LIMIT} or more lines`, () => {
    const texts = files.map((f) => readFileSync(f, 'utf8'));
    const twins: string[] = [];
    for (let i = 0; i < files.length; i++) {
      for (let j = i + 1; j < files.length; j++) {
        const run = longestSharedRun(texts[i]!, texts[j]!);
        if (run.length >= LIMIT) {
          const first = normalisedLines(texts[i]!)[run.atA];
          twins.push(
            `${relative(root, files[i]!)} / ${relative(root, files[j]!)}: ${run.length} lines from "${first}"`,
          );
        }
      }
    }
    expect(twins).toEqual([]);
  });
});
